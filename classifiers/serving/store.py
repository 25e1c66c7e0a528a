"""A model folder as serving reads it: a skops file, its serving tables and the JSON model card naming
both (`classifiers.training.artifacts` writes them).

skops refuses to build any type it is not told to trust. We trust exactly the types our own pipeline
is made of (listed below and reviewed); a file that needs anything else is rejected, not loaded, because
a model file can come from outside (a colleague, a download, a restored backup)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from classifiers.serving.fast import SERVING_FILE, FastScorer

MODEL_FILE = "model.skops"
CARD_FILE = "card.json"

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


# A vocabulary dict is stored as one numpy array of its terms in column order: skops writes a dict as one
# node per key and value, and auditing and building ~40,000 nodes was most of the 0.5 s load time.
VOCABULARY_TERMS = "vocabulary_terms_"


def vectorisers(pipe: Any) -> list[Any]:
    """The fitted TF-IDF blocks of a pipeline, with their vocabulary as a dict or packed as terms."""
    get_params = getattr(pipe, "get_params", None)
    if get_params is None:
        return []
    found: dict[int, Any] = {}
    for v in get_params(deep=True).values():
        if isinstance(getattr(v, "vocabulary_", None), dict) or hasattr(v, VOCABULARY_TERMS):
            found.setdefault(id(v), v)
    return list(found.values())


def _unpack(pipe: Any) -> Any:
    for vec in vectorisers(pipe):
        terms = getattr(vec, VOCABULARY_TERMS, None)
        if terms is not None:
            vec.vocabulary_ = {str(t): i for i, t in enumerate(terms.tolist())}
            delattr(vec, VOCABULARY_TERMS)
    return pipe


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


def read_card(path: Path) -> dict[str, Any]:
    card_path = (path if path.is_dir() else path.parent) / CARD_FILE
    if not card_path.exists():
        return {}
    data: dict[str, Any] = json.loads(card_path.read_text(encoding="utf-8"))
    return data
