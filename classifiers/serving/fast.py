"""Inference without scikit-learn's per-call overhead, computing exactly what the fitted pipeline computes.

`Pipeline.predict_proba` validates its input at every step and calls one sigmoid calibrator per category:
~250 small calls per message, 50 ms where the arithmetic needs well under one. This reads the fitted
vocabularies, IDF weights, SVM weights and calibration parameters once and does the same sums in a few
compiled loops (`classifiers.serving.kernels`): character n-grams are looked up as packed integer keys in an
open-addressing table, words through a dict; the calls per message are a handful. A pipeline of another
shape (isotonic calibration, two classes, a different feature layout) is left to scikit-learn;
`tests/unit/test_classifier.py` checks both paths agree.

The same tables are saved beside the skops model as `serving.npz` (arrays and a JSON header, no pickles),
so a web or worker process builds a `FastScorer` from them without importing scikit-learn at all."""

from __future__ import annotations

import functools
import importlib
import json
import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from classifiers.serving import kernels

SERVING_FILE = "serving.npz"
_FORMAT = 1

# The text functions a serving file may name (it names them; it cannot carry code). Reviewed, like
# `classifiers.serving.store.TRUSTED_TYPES`.
SERVING_FUNCTIONS: frozenset[str] = frozenset(
    {"classifiers.tokenizer.tokenize", "classifiers.tokenizer.normalise", "classifiers.tokenizer.subject"}
)


def _name(fn: Callable[..., Any]) -> str:
    return f"{fn.__module__}.{fn.__qualname__}"


def _function(name: str) -> Callable[..., Any]:
    if name not in SERVING_FUNCTIONS:
        raise ValueError(f"serving file names an unreviewed function: {name}")
    module, _, attr = name.rpartition(".")
    fn: Callable[..., Any] = getattr(importlib.import_module(module), attr)
    return fn


class _Part:
    """One TF-IDF block of the feature union: how it cuts a text (`spec` says so by name when it can be
    stored), its vocabulary (token → global column + 1) and IDF, and its weight in the union."""

    def __init__(
        self,
        spec: list[Any],
        analyze: Callable[[str], Iterable[str]],
        ids: dict[str, int],
        idf: np.ndarray,
        scale: float,
    ) -> None:
        self.spec, self.analyze, self.ids, self.idf, self.scale = spec, analyze, ids, idf, scale
        self.grams = _GramTable.build(spec, ids)

    @classmethod
    def from_vectorizer(cls, vec: Any, offset: int, scale: float) -> _Part:
        if not (vec.sublinear_tf and vec.norm == "l2" and vec.use_idf and not vec.binary):
            raise ValueError("unsupported TF-IDF settings")
        analyze: Callable[[str], Iterable[str]] = vec.build_analyzer()
        spec: list[Any] = []  # empty: sklearn's own analyzer, which a serving file cannot name
        if vec.analyzer == "char" and vec.preprocessor is not None and vec.input == "content":
            # sklearn's char analyzer is this plus generator plumbing; with a preprocessor set, sklearn
            # ignores `lowercase` (build_preprocessor returns the preprocessor as it is).
            lo, hi = vec.ngram_range
            spec = ["char", _name(vec.preprocessor), int(lo), int(hi)]
            analyze = _char_ngrams(vec.preprocessor, (lo, hi))
        elif vec.analyzer == "word" and vec.ngram_range == (1, 1) and vec.tokenizer is not None:
            if not vec.lowercase and vec.preprocessor is None and vec.stop_words is None:
                spec = ["word", _name(vec.tokenizer)]
                analyze = vec.tokenizer
        # token → global column + 1, so that `filter(None, ...)` drops unknown tokens (None) in C and
        # column 0 survives.
        ids = {str(k): int(v) + offset + 1 for k, v in vec.vocabulary_.items()}
        return cls(spec, analyze, ids, np.asarray(vec.idf_, dtype=np.float64), scale)

    @classmethod
    def from_spec(cls, spec: list[Any], terms: list[str], offset: int, idf: np.ndarray, scale: float) -> _Part:
        if spec and spec[0] == "char":
            analyze = _char_ngrams(_function(spec[1]), (int(spec[2]), int(spec[3])))
        elif spec and spec[0] == "word":
            analyze = _function(spec[1])
        else:
            raise ValueError(f"unknown analyzer in serving file: {spec!r}")
        return cls(spec, analyze, dict(zip(terms, range(offset + 1, offset + 1 + len(terms)), strict=True)), idf, scale)

    def terms(self) -> list[str]:
        """The vocabulary in column order."""
        return sorted(self.ids, key=self.ids.__getitem__)

    def ids_of(self, text: str) -> list[int]:
        return list(filter(None, map(self.ids.get, self.analyze(text))))


def _char_ngrams(preprocess: Callable[[str], str], ngram_range: tuple[int, int]) -> Callable[[str], Iterable[str]]:
    """sklearn's char analyzer (whitespace runs folded, then every n-gram), with the n-grams cut by `map`
    over precomputed slices: the loop runs in C instead of one Python step per n-gram."""
    lo, hi = ngram_range
    spaces = re.compile(r"\s\s+")

    @functools.lru_cache(maxsize=256)
    def slices(n_chars: int) -> tuple[slice, ...]:
        return tuple(slice(i, i + n) for n in range(lo, min(hi, n_chars) + 1) for i in range(n_chars - n + 1))

    def analyze(text: str) -> Iterable[str]:
        doc = spaces.sub(" ", preprocess(text))
        if len(doc) > 1024:  # an essay: not worth a cache entry of thousands of slices
            return [doc[i : i + n] for n in range(lo, min(hi, len(doc)) + 1) for i in range(len(doc) - n + 1)]
        return map(doc.__getitem__, slices(len(doc)))

    return analyze


class _GramTable:
    """A character block's vocabulary as integer keys, so compiled code looks a text's n-grams up instead
    of Python cutting one string and doing one dict lookup per n-gram. Each n-gram of up to three
    characters is one int64 (three 21-bit code points); longer ranges keep the string path."""

    def __init__(self, preprocess: Callable[[str], str], lo: int, hi: int, table: _IntMap) -> None:
        self.preprocess, self.lo, self.hi, self.table = preprocess, lo, hi, table
        self.spaces = re.compile(r"\s\s+")

    @classmethod
    def build(cls, spec: list[Any], ids: dict[str, int]) -> _GramTable | None:
        if not spec or spec[0] != "char" or spec[1] not in SERVING_FUNCTIONS or int(spec[3]) > 3 or not ids:
            return None
        terms = list(ids)
        keys = _keys_of_terms(terms)
        if keys is None:
            return None
        cols = np.fromiter(ids.values(), dtype=np.int64, count=len(ids))
        return cls(_function(spec[1]), int(spec[2]), int(spec[3]), _IntMap(keys, cols))

    def _codepoints(self, text: str) -> np.ndarray:
        doc = self.spaces.sub(" ", self.preprocess(text))
        return np.frombuffer(doc.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)

    def ids_in(self, text: str) -> np.ndarray:
        """The ids (global column + 1) of `text`'s n-grams in the vocabulary, repeats included."""
        t = self.table
        ids: np.ndarray = kernels.char_ids(self._codepoints(text), self.lo, self.hi, t.keys, t.values, t.shift, t.mask)
        return ids

    def add_to(self, text: str, idf_by_id: np.ndarray, scale: float, weights: np.ndarray, scores: np.ndarray) -> None:
        """scores += this block's contribution for `text` (`kernels.add_chars`)."""
        t, cps = self.table, self._codepoints(text)
        kernels.add_chars(cps, self.lo, self.hi, t.keys, t.values, t.shift, t.mask, idf_by_id, scale, weights, scores)


class _IntMap:
    """Positive int64 keys → positive values as an open-addressing hash table (multiplicative hash, linear
    probing, at most a quarter full), built here with numpy and probed by `kernels.char_ids`."""

    def __init__(self, keys: np.ndarray, values: np.ndarray) -> None:
        bits = max(4, (4 * len(keys) - 1).bit_length())
        self.shift, self.mask = np.uint64(64 - bits), (1 << bits) - 1
        self.keys = np.zeros(1 << bits, dtype=np.int64)  # 0: an empty slot
        self.values = np.zeros(1 << bits, dtype=np.int64)
        slot = self._slot(keys)
        pending = np.arange(len(keys))
        while pending.size:  # each round places, per free slot, the first key that wants it
            want = slot[pending]
            free = self.keys[want] == 0
            taken, first = np.unique(want[free], return_index=True)
            placed = pending[free][first]
            self.keys[taken], self.values[taken] = keys[placed], values[placed]
            pending = np.setdiff1d(pending, placed, assume_unique=True)
            slot[pending] = (slot[pending] + 1) & self.mask

    def _slot(self, keys: np.ndarray) -> np.ndarray:
        h: np.ndarray = ((keys.view(np.uint64) * kernels.GOLDEN) >> self.shift).astype(np.int64)
        return h


def _keys_of_terms(terms: list[str]) -> np.ndarray | None:
    """`_GramTable`'s key of each term (one to three characters), or None when a term cannot have one."""
    lens = np.fromiter(map(len, terms), dtype=np.int64, count=len(terms))
    if lens.min() < 1 or lens.max() > 3 or any("\0" in t for t in terms):  # NUL would read as padding
        return None
    cp = np.array(terms, dtype="<U3").view(np.uint32).reshape(len(terms), 3).astype(np.int64) + 1
    keys = cp[:, 0].copy()
    for i in (1, 2):
        longer = lens > i
        keys[longer] = (keys[longer] << kernels.BITS) | cp[longer, i]
    return keys


class FastScorer:
    """Everything inference needs from a fitted pipeline, as plain tables: built from the pipeline
    (`from_pipeline`, needs scikit-learn) or read back from the serving file it wrote (`load`, needs numpy
    and the compiled kernels: a web or worker process then starts without importing scikit-learn and
    skops, ~3 s)."""

    def __init__(
        self,
        classes: list[str],
        parts: list[_Part],
        coef_dense: np.ndarray,
        intercept: np.ndarray,
        a: np.ndarray,
        b: np.ndarray,
    ) -> None:
        self.classes, self.parts = classes, parts
        self.idf = np.concatenate([p.idf for p in parts])
        # Feature-major dense float32 weights (pruned ones are zeros): a message's features pick rows.
        # Row 0 is zeros so the single-message path indexes by column + 1 without a subtraction.
        self.coef_dense = coef_dense
        self.intercept, self.a, self.b = intercept, a, b
        self.idf_by_id = np.concatenate(([0.0], self.idf))  # indexed by column + 1, as `_Part.ids`

    @classmethod
    def from_pipeline(cls, pipe: Any) -> FastScorer:
        from sklearn.calibration import _SigmoidCalibration

        union = pipe.named_steps["features"]
        clf = pipe.named_steps["clf"]
        if len(clf.calibrated_classifiers_) != 1:
            raise ValueError("ensemble calibration")
        calibrated = clf.calibrated_classifiers_[0]
        classes = [str(c) for c in clf.classes_]
        if len(classes) < 3 or not all(isinstance(c, _SigmoidCalibration) for c in calibrated.calibrators):
            raise ValueError("needs sigmoid calibration over three or more classes")
        parts: list[_Part] = []
        offset = 0
        scales = union.transformer_weights or {}
        for name, vec in union.transformer_list:
            if vec == "drop" or vec == "passthrough":
                raise ValueError("feature union with a dropped or passthrough block")
            parts.append(_Part.from_vectorizer(vec, offset, float(scales.get(name, 1.0))))
            offset += len(vec.vocabulary_)
        svm = calibrated.estimator
        coef = svm.coef_.toarray() if hasattr(svm.coef_, "toarray") else np.asarray(svm.coef_)
        dense = np.zeros((coef.shape[1] + 1, coef.shape[0]), dtype=np.float32)
        dense[1:] = coef.T
        return cls(
            classes,
            parts,
            dense,
            np.asarray(svm.intercept_, dtype=np.float64),
            np.array([c.a_ for c in calibrated.calibrators], dtype=np.float64),
            np.array([c.b_ for c in calibrated.calibrators], dtype=np.float64),
        )

    def save(self, path: Path) -> None:
        """The tables as one .npz (no pickled objects; the weights stored sparse, as the pruned SVM has
        them). Raises ValueError when a block's analyzer cannot be named."""
        if not all(p.spec and p.spec[1] in SERVING_FUNCTIONS for p in self.parts):
            raise ValueError("a block uses an analyzer a serving file cannot name")
        import scipy.sparse as sp

        weights = sp.csr_matrix(self.coef_dense[1:])
        meta = {"format": _FORMAT, "classes": self.classes, "parts": [[p.spec, p.scale] for p in self.parts]}
        arrays: dict[str, Any] = {
            "meta": np.asarray(json.dumps(meta, ensure_ascii=False)),
            "w_data": weights.data.astype(np.float32),
            "w_indices": weights.indices.astype(np.int32),
            "w_indptr": weights.indptr.astype(np.int64),
            "intercept": self.intercept,
            "a": self.a,
            "b": self.b,
        }
        for i, p in enumerate(self.parts):
            arrays[f"terms_{i}"] = np.asarray(p.terms(), dtype=str)
            arrays[f"idf_{i}"] = p.idf
        with path.open("wb") as f:
            np.savez_compressed(f, **arrays)

    @classmethod
    def load(cls, path: Path) -> FastScorer:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            if meta.get("format") != _FORMAT:
                raise ValueError(f"{path}: serving format {meta.get('format')!r}, expected {_FORMAT}")
            parts: list[_Part] = []
            offset = 0
            for i, (spec, scale) in enumerate(meta["parts"]):
                terms = z[f"terms_{i}"].tolist()
                parts.append(_Part.from_spec(spec, terms, offset, z[f"idf_{i}"], float(scale)))
                offset += len(terms)
            # CSR → dense with numpy alone: scipy's import (~0.3 s) is left to the batch path.
            indptr = z["w_indptr"]
            dense = np.zeros((offset + 1, len(meta["classes"])), dtype=np.float32)
            rows = np.repeat(np.arange(1, offset + 1), np.diff(indptr))
            dense[rows, z["w_indices"]] = z["w_data"]
            return cls(list(meta["classes"]), parts, dense, z["intercept"], z["a"], z["b"])

    def _one(self, text: str) -> np.ndarray:
        scores = self.intercept.copy()
        for part in self.parts:
            if part.grams is not None:
                part.grams.add_to(text, self.idf_by_id, part.scale, self.coef_dense, scores)
            else:
                ids = np.array(part.ids_of(text), dtype=np.int64)
                kernels.add_block(ids, self.idf_by_id, part.scale, self.coef_dense, scores)
        return scores

    def warm_up(self) -> None:
        """Compile (or load from the cache) the kernels now, not on the first report."""
        self.proba_one("井盖 warm-up")

    def proba_one(self, text: str) -> np.ndarray:
        """`predict_proba([text])[0]`: the scores, then scikit-learn's sigmoid calibration (compiled)."""
        p = self._one(text)
        kernels.calibrate(p, self.a, self.b)
        return p

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        out = np.empty((len(texts), len(self.classes)))
        for i, text in enumerate(texts):
            out[i] = self.proba_one(text)
        return out


class SklearnScorer:
    """scikit-learn's own `predict_proba`, for pipelines `FastScorer` does not understand."""

    def __init__(self, pipe: Any) -> None:
        self.pipe = pipe
        self.classes = [str(c) for c in pipe.classes_]

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        return np.asarray(self.pipe.predict_proba(list(texts)))

    def proba_one(self, text: str) -> np.ndarray:
        row: np.ndarray = self.predict_proba([text])[0]
        return row

    def warm_up(self) -> None:
        """Nothing to compile: scikit-learn's code is ready as imported."""


Scorer = FastScorer | SklearnScorer


def scorer_for(pipe: Any) -> Scorer:
    """The fast path when the pipeline has the expected shape, else scikit-learn's own."""
    try:
        return FastScorer.from_pipeline(pipe)
    except (ValueError, AttributeError, KeyError):
        return SklearnScorer(pipe)
