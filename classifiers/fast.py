"""Inference without scikit-learn's per-call overhead, computing exactly what the fitted pipeline computes.

`Pipeline.predict_proba` validates its input at every step and calls one sigmoid calibrator per category:
~250 small calls per message, 50 ms where the arithmetic needs well under one. This reads the fitted
vocabularies, IDF weights, SVM weights and calibration parameters once and does the same sums with numpy.
A pipeline of another shape (isotonic calibration, two classes, a different feature layout) is left to
scikit-learn; `tests/unit/test_classifier.py` checks both paths agree.

The same tables are saved beside the skops model as `serving.npz` (arrays and a JSON header, no pickles),
so a web or worker process builds a `FastScorer` from them without importing scikit-learn at all."""

from __future__ import annotations

import functools
import importlib
import itertools
import json
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

SERVING_FILE = "serving.npz"
_FORMAT = 1

# The text functions a serving file may name (it names them; it cannot carry code). Reviewed, like
# `classifiers.store.TRUSTED_TYPES`.
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

    def batch_ids(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Every known token of every text, as (text index, global column + 1), for a batch."""
        if self.grams is not None:
            return self.grams.lookup(texts)
        found = [self.ids_of(t) for t in texts]
        lens = np.fromiter(map(len, found), dtype=np.int64, count=len(found))
        owner = np.repeat(np.arange(len(found), dtype=np.int64), lens)
        return owner, np.fromiter(itertools.chain.from_iterable(found), dtype=np.int64, count=int(lens.sum()))

    def add(self, text: str, idf: list[float], ids: list[int], weights: list[float]) -> None:
        """One message's entries of this block (global column + 1, l2-normalised sublinear tf × idf), in
        plain Python: a few dozen numbers do not pay for numpy calls. Lookup and counting run in C (map,
        filter, Counter over ints); Python only touches the hits."""
        hits = Counter(filter(None, map(self.ids.get, self.analyze(text))))
        if not hits:
            return
        w = [idf[k] * (1.0 + math.log(n)) if n > 1 else idf[k] for k, n in hits.items()]
        ids.extend(hits)
        weights.extend(map((self.scale / math.hypot(*w)).__mul__, w))


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


_BITS = 21  # a Unicode code point (+1, so that no n-gram's key is a shorter n-gram's) fits in 21 bits


class _GramTable:
    """A character block's vocabulary as sorted integer keys, so a whole batch's n-grams are looked up with
    a handful of numpy calls instead of one string slice and one dict lookup per n-gram. Each n-gram of up
    to three characters is one int64 (three 21-bit code points); longer ranges keep the string path."""

    def __init__(self, preprocess: Callable[[str], str], lo: int, hi: int, ids: _IntMap) -> None:
        self.preprocess, self.lo, self.hi, self.ids = preprocess, lo, hi, ids
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

    def lookup(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(text index, global column + 1) of every n-gram of `texts` that is in the vocabulary."""
        spaces, preprocess = self.spaces, self.preprocess
        docs = [spaces.sub(" ", preprocess(t)) for t in texts]
        lens = np.fromiter(map(len, docs), dtype=np.int64, count=len(docs))
        cp = np.frombuffer("".join(docs).encode("utf-32-le", "surrogatepass"), dtype=np.uint32).astype(np.int64)
        cp += 1
        n_chars = len(cp)
        owner = np.repeat(np.arange(len(docs), dtype=np.int64), lens)
        left = np.repeat(np.cumsum(lens), lens) - np.arange(n_chars)  # characters from here to its text's end
        keys: list[np.ndarray] = []
        owners: list[np.ndarray] = []
        k = cp
        for n in range(1, self.hi + 1):
            if n > 1:
                k = (k[:-1] << _BITS) | cp[n - 1 :]
            if n >= self.lo:
                fits = left[: n_chars - n + 1] >= n  # the n-gram does not run into the next text
                keys.append(k[fits])
                owners.append(owner[: n_chars - n + 1][fits])
        found = self.ids.get(np.concatenate(keys))
        hit = found > 0
        return np.concatenate(owners)[hit], found[hit]


class _IntMap:
    """Positive int64 keys → positive values, as an open-addressing hash table (multiplicative hash,
    linear probing, at most a quarter full) probed for a whole array of keys at once: ~3x faster than a
    binary search (`np.searchsorted`) over the sorted keys, whose branches the CPU cannot predict."""

    _GOLDEN = np.uint64(0x9E3779B97F4A7C15)  # 2**64 / golden ratio: spreads consecutive keys apart

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
        h: np.ndarray = ((keys.view(np.uint64) * self._GOLDEN) >> self.shift).astype(np.int64)
        return h

    def get(self, keys: np.ndarray) -> np.ndarray:
        """The value of each key, 0 for a key not in the map."""
        out = np.zeros(len(keys), dtype=np.int64)
        where = np.arange(len(keys))
        slot = self._slot(keys)
        while where.size:  # each round: the keys still looking, one slot further on
            seen = self.keys[slot]
            hit = seen == keys
            out[where[hit]] = self.values[slot[hit]]
            on = ~hit & (seen != 0)
            where, keys, slot = where[on], keys[on], (slot[on] + 1) & self.mask
        return out


def _keys_of_terms(terms: list[str]) -> np.ndarray | None:
    """`_GramTable`'s key of each term (one to three characters), or None when a term cannot have one."""
    lens = np.fromiter(map(len, terms), dtype=np.int64, count=len(terms))
    if lens.min() < 1 or lens.max() > 3 or any("\0" in t for t in terms):  # NUL would read as padding
        return None
    cp = np.array(terms, dtype="<U3").view(np.uint32).reshape(len(terms), 3).astype(np.int64) + 1
    keys = cp[:, 0].copy()
    for i in (1, 2):
        longer = lens > i
        keys[longer] = (keys[longer] << _BITS) | cp[longer, i]
    return keys


# Above this many characters one message is cheaper through a batch's array path than through per-n-gram
# Python (Teddy Cup texts, shipped model: level at ~130 characters, 0.60 vs 0.73 ms at 200–400, 1.6 vs
# 2.2 ms beyond).
_LONG_TEXT = 128


class FastScorer:
    """Everything inference needs from a fitted pipeline, as plain tables: built from the pipeline
    (`from_pipeline`, needs scikit-learn) or read back from the serving file it wrote (`load`, needs only
    numpy: a web or worker process then starts without importing scikit-learn and skops, ~3 s)."""

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
        self.block_scale = np.array([p.scale for p in parts])
        self.n_features = len(self.idf)
        self.part_of = np.repeat(np.arange(len(parts)), [len(p.idf) for p in parts])
        self.idf_by_id: list[float] = [0.0, *self.idf.tolist()]  # indexed by column + 1, as `_Part.ids`

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

    def features(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The non-zero TF-IDF entries of `texts` as CSR arrays (indptr, column, value), as the fitted feature
        union computes them, with one set of array operations for the whole batch: Python only cuts texts
        into words; character n-grams are looked up as integer keys (`_GramTable`)."""
        found = [p.batch_ids(texts) for p in self.parts]
        n_feat = self.n_features
        # Global columns are disjoint per block, so (text, column) says which block an entry is in.
        keys, counts = np.unique(
            np.concatenate([owner * n_feat + (ids - 1) for owner, ids in found]), return_counts=True
        )
        rows = keys // n_feat
        cols = keys - rows * n_feat
        # sublinear tf × idf, then each block l2-normalised on its own (TfidfVectorizer inside FeatureUnion).
        w = self.idf[cols] * (1.0 + np.log(counts))
        block = rows * len(self.parts) + self.part_of[cols]
        norm = np.sqrt(np.bincount(block, weights=w * w, minlength=len(texts) * len(self.parts)))
        w *= self.block_scale[block % len(self.parts)] / norm[block]
        # Keys were sorted, so rows come in order and columns ascend within each: CSR as it is.
        indptr = np.concatenate(([0], np.cumsum(np.bincount(rows, minlength=len(texts)))))
        return indptr, cols, w

    def decision(self, texts: Sequence[str]) -> np.ndarray:
        """SVM scores: the batch's sparse TF-IDF rows times the dense weights (scipy adds one weight row per
        non-zero feature, in C; measured faster than a sparse-times-sparse product with the pruned weights).
        One message goes through `_one`, which skips scipy's fixed cost."""
        if len(texts) == 1:
            return self._one(texts[0])[None, :]
        # Imported here: a web process that classifies one report at a time never pays for scipy.
        import scipy.sparse as sp

        indptr, cols, w = self.features(texts)
        x = sp.csr_matrix((w.astype(np.float32), cols, indptr), shape=(len(texts), self.n_features))
        # Row 0 of the dense weights is the zero row `_one` relies on; the product skips it.
        s: np.ndarray = np.asarray(x @ self.coef_dense[1:], dtype=np.float64)
        s += self.intercept
        return s

    def _one(self, text: str) -> np.ndarray:
        if len(text) > _LONG_TEXT:
            _, cols, w = self.features([text])
            long: np.ndarray = self.intercept + w.astype(np.float32) @ self.coef_dense.take(cols + 1, 0)
            return long
        ids: list[int] = []
        weights: list[float] = []
        for part in self.parts:
            part.add(text, self.idf_by_id, ids, weights)
        if not ids:
            return self.intercept.copy()
        s: np.ndarray = self.intercept + np.asarray(weights, dtype=np.float32) @ self.coef_dense.take(ids, 0)
        return s

    def proba_one(self, text: str) -> np.ndarray:
        """`predict_proba([text])[0]` in as few numpy calls as the arithmetic allows: at one message the
        calls, not the sums over 250 categories, are the cost."""
        p: np.ndarray = self._one(text) * self.a
        p += self.b
        np.exp(p, out=p)
        p += 1.0
        np.reciprocal(p, out=p)
        total = float(p.sum())
        if total > 0:
            p /= total
        else:
            p[:] = 1.0 / len(p)
        return p

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, len(self.classes)))
        # sklearn's _SigmoidCalibration: expit(-(a*f + b)); then each row normalised to sum to one
        # (a row of underflowed zeros becomes uniform, as in sklearn). In place: for one message the
        # numpy calls, not the arithmetic, are the cost.
        p: np.ndarray = self.decision(texts) * self.a
        p += self.b
        np.exp(p, out=p)
        p += 1.0
        np.reciprocal(p, out=p)
        total = p.sum(axis=1, keepdims=True)
        if (total > 0).all():
            p /= total
            return p
        zero = total[:, 0] <= 0
        p[zero] = 1.0 / p.shape[1]
        p[~zero] /= total[~zero]
        return p


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


Scorer = FastScorer | SklearnScorer


def scorer_for(pipe: Any) -> Scorer:
    """The fast path when the pipeline has the expected shape, else scikit-learn's own."""
    try:
        return FastScorer.from_pipeline(pipe)
    except (ValueError, AttributeError, KeyError):
        return SklearnScorer(pipe)
