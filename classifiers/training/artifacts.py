"""A trained model's folder, written: the skops pipeline, the serving tables `classifiers.serving.store`
reads, the model card, and digests of the examples it was trained on."""

from __future__ import annotations

import hashlib
import json
import platform
from datetime import UTC, datetime
from importlib.metadata import version as pkg_version
from pathlib import Path
from typing import Any

import numpy as np

from classifiers.serving import store
from classifiers.serving.fast import SERVING_FILE, FastScorer

# One short digest per training example: what a model has seen, so that `retrain` scores it only on
# examples it has not (digests, not the texts: a model folder may be shared where its data may not).
TRAINED_ON_FILE = "trained_on.txt"


def library_versions() -> dict[str, str]:
    libs = ("scikit-learn", "skops", "jieba", "numpy", "scipy")
    return {"python": platform.python_version(), **{lib: pkg_version(lib) for lib in libs}}


def _pack(pipe: Any) -> list[tuple[Any, dict[str, int]]]:
    packed = []
    for vec in store.vectorisers(pipe):
        vocab: dict[str, int] = vec.vocabulary_
        terms = [""] * len(vocab)
        for term, col in vocab.items():
            terms[int(col)] = term
        setattr(vec, store.VOCABULARY_TERMS, np.asarray(terms, dtype=str))
        del vec.vocabulary_
        packed.append((vec, vocab))
    return packed


def save(pipe: Any, out_dir: Path, card: dict[str, Any]) -> Path:
    """The pipeline as skops, its serving tables (`classifiers.serving.fast`) when it has the shape they
    cover, and the card naming both by sha256."""
    import skops.io as sio  # here, not at module level: serving never needs skops (~3 s to import)

    out_dir.mkdir(parents=True, exist_ok=True)
    model_path = out_dir / store.MODEL_FILE
    serving_path = out_dir / SERVING_FILE
    serving_path.unlink(missing_ok=True)
    serving: dict[str, str] = {}
    try:
        FastScorer.from_pipeline(pipe).save(serving_path)
        serving = {"serving_sha256": store.file_sha256(serving_path)}
    except (ValueError, AttributeError, KeyError):
        serving_path.unlink(missing_ok=True)  # the registry then serves through scikit-learn
    packed = _pack(pipe)
    try:
        sio.dump(pipe, model_path, compression=8)  # ZIP_DEFLATED: vocabularies compress well
    finally:
        for vec, vocab in packed:
            vec.vocabulary_ = vocab
            delattr(vec, store.VOCABULARY_TERMS)
    full = {
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "libraries": library_versions(),
        "artifact_sha256": store.file_sha256(model_path),
        **serving,
        **card,
    }
    (out_dir / store.CARD_FILE).write_text(json.dumps(full, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return model_path


def example_digest(text: str, label: str) -> str:
    """Of the text and its label: a text an agent relabelled is a new example for a model that saw it."""
    return hashlib.sha256(f"{text.strip()}\t{label}".encode()).hexdigest()[:16]


def example_digests(texts: list[str], labels: list[str]) -> set[str]:
    return {example_digest(t, lab) for t, lab in zip(texts, labels, strict=True)}


def write_trained_on(out_dir: Path, texts: list[str], labels: list[str]) -> None:
    digests = sorted(example_digests(texts, labels))
    (out_dir / TRAINED_ON_FILE).write_text("".join(d + "\n" for d in digests), encoding="ascii")


def read_trained_on(path: Path) -> set[str] | None:
    """Digests of the examples the model in `path` was trained on; None for a model saved without them."""
    file = (path if path.is_dir() else path.parent) / TRAINED_ON_FILE
    if not file.exists():
        return None
    return set(file.read_text(encoding="ascii").split())
