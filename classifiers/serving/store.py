"""Model artifacts on disk: a skops file and a JSON model card next to it.

skops refuses to build any type it is not told to trust. We trust exactly the types our own pipeline
is made of (listed below and reviewed); a file that needs anything else is rejected, not loaded, because
a model file can come from outside (a colleague, a download, a restored backup)."""

from __future__ import annotations

import hashlib
import json
import platform
from datetime import UTC, datetime
from importlib.metadata import version as pkg_version
from pathlib import Path
from typing import Any

import numpy as np

from classifiers.serving.fast import SERVING_FILE, FastScorer

MODEL_FILE = "model.skops"
CARD_FILE = "card.json"
# One short digest per training example: what a model has seen, so that `retrain` scores it only on
# examples it has not (digests, not the texts: a model folder may be shared where its data may not).
TRAINED_ON_FILE = "trained_on.txt"

# What a fitted `classifiers.training.model.build_pipeline` needs beyond the types skops trusts by default
# (sklearn estimators, numpy). Each was reviewed: our own text functions, a scipy sparse matrix (the pruned
# SVM weights), and sklearn's private calibration helpers, which hold only arrays and fitted estimators.
TRUSTED_TYPES: tuple[str, ...] = (
    "classifiers.tokenizer.normalise",
    "classifiers.tokenizer.subject",
    "classifiers.tokenizer.tokenize",
    "scipy.sparse._csr.csr_matrix",
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    "sklearn.isotonic.IsotonicRegression",
)


class UntrustedModelError(ValueError):
    pass


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def library_versions() -> dict[str, str]:
    libs = ("scikit-learn", "skops", "jieba", "numpy", "scipy")
    return {"python": platform.python_version(), **{lib: pkg_version(lib) for lib in libs}}


# A vocabulary dict is stored as one numpy array of its terms in column order: skops writes a dict as one
# node per key and value, and auditing and building ~40,000 nodes was most of the 0.5 s load time.
_TERMS = "vocabulary_terms_"


def _vectorisers(pipe: Any) -> list[Any]:
    get_params = getattr(pipe, "get_params", None)
    if get_params is None:
        return []
    found: dict[int, Any] = {}
    for v in get_params(deep=True).values():
        if isinstance(getattr(v, "vocabulary_", None), dict) or hasattr(v, _TERMS):
            found.setdefault(id(v), v)
    return list(found.values())


def _pack(pipe: Any) -> list[tuple[Any, dict[str, int]]]:
    packed = []
    for vec in _vectorisers(pipe):
        vocab: dict[str, int] = vec.vocabulary_
        terms = [""] * len(vocab)
        for term, col in vocab.items():
            terms[int(col)] = term
        setattr(vec, _TERMS, np.asarray(terms, dtype=str))
        del vec.vocabulary_
        packed.append((vec, vocab))
    return packed


def _unpack(pipe: Any) -> Any:
    for vec in _vectorisers(pipe):
        terms = getattr(vec, _TERMS, None)
        if terms is not None:
            vec.vocabulary_ = {str(t): i for i, t in enumerate(terms.tolist())}
            delattr(vec, _TERMS)
    return pipe


def save(pipe: Any, out_dir: Path, card: dict[str, Any]) -> Path:
    """The pipeline as skops, its serving tables (`classifiers.serving.fast`) when it has the shape they cover,
    and the card naming both by sha256."""
    import skops.io as sio  # here, not at module level: serving never needs skops (~3 s to import)

    out_dir.mkdir(parents=True, exist_ok=True)
    model_path = out_dir / MODEL_FILE
    serving_path = out_dir / SERVING_FILE
    serving_path.unlink(missing_ok=True)
    serving: dict[str, str] = {}
    try:
        FastScorer.from_pipeline(pipe).save(serving_path)
        serving = {"serving_sha256": file_sha256(serving_path)}
    except (ValueError, AttributeError, KeyError):
        serving_path.unlink(missing_ok=True)  # the registry then serves through scikit-learn
    packed = _pack(pipe)
    try:
        sio.dump(pipe, model_path, compression=8)  # ZIP_DEFLATED: vocabularies compress well
    finally:
        for vec, vocab in packed:
            vec.vocabulary_ = vocab
            delattr(vec, _TERMS)
    full = {
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "libraries": library_versions(),
        "artifact_sha256": file_sha256(model_path),
        **serving,
        **card,
    }
    (out_dir / CARD_FILE).write_text(json.dumps(full, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return model_path


def load(path: Path) -> Any:
    """The fitted pipeline in `path` (a .skops file or a directory holding one).

    skops itself refuses a file that needs any type beyond its defaults and our list; its exception is
    turned into ours so callers need not know skops."""
    import skops.io as sio
    from skops.io.exceptions import UntrustedTypesFoundException

    model_path = path / MODEL_FILE if path.is_dir() else path
    try:
        return _unpack(sio.loads(model_path.read_bytes(), trusted=list(TRUSTED_TYPES)))
    except UntrustedTypesFoundException as exc:
        raise UntrustedModelError(f"{model_path} needs types outside the trusted list: {exc}") from exc


def load_serving(path: Path) -> FastScorer | None:
    """The serving tables saved with the model in `path`, if they are there and are the ones its card
    names (a file copied in from another model, or edited, is ignored); else None."""
    model_dir = path if path.is_dir() else path.parent
    serving_path = model_dir / SERVING_FILE
    expected = read_card(model_dir).get("serving_sha256")
    if not expected or not serving_path.exists() or file_sha256(serving_path) != expected:
        return None
    return FastScorer.load(serving_path)


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


def read_card(path: Path) -> dict[str, Any]:
    card_path = (path if path.is_dir() else path.parent) / CARD_FILE
    if not card_path.exists():
        return {}
    data: dict[str, Any] = json.loads(card_path.read_text(encoding="utf-8"))
    return data
