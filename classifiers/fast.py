"""Inference without scikit-learn's per-call overhead, computing exactly what the fitted pipeline computes.

`Pipeline.predict_proba` validates its input at every step and calls one sigmoid calibrator per category:
~250 small calls per message, 50 ms where the arithmetic needs well under one. This reads the fitted
vocabularies, IDF weights, SVM weights and calibration parameters once and does the same sums with numpy.
A pipeline of another shape (isotonic calibration, two classes, a different feature layout) is left to
scikit-learn; `tests/unit/test_classifier.py` checks both paths agree."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from sklearn.calibration import _SigmoidCalibration
from sklearn.feature_extraction.text import TfidfVectorizer


class _Part:
    """One TF-IDF block of the feature union: how it cuts a text, its vocabulary and IDF, column offset."""

    def __init__(self, vec: TfidfVectorizer, offset: int) -> None:
        if not (vec.sublinear_tf and vec.norm == "l2" and vec.use_idf and not vec.binary):
            raise ValueError("unsupported TF-IDF settings")
        self.analyze: Callable[[str], list[str]] = vec.build_analyzer()
        if vec.analyzer == "char" and not vec.lowercase and vec.preprocessor is not None:
            # sklearn's char analyzer adds a whitespace regex and generator plumbing on top of this.
            self.analyze = _char_ngrams(vec.preprocessor, vec.ngram_range)
        elif vec.analyzer == "word" and vec.ngram_range == (1, 1) and vec.tokenizer is not None:
            if not vec.lowercase and vec.preprocessor is None and vec.stop_words is None:
                self.analyze = vec.tokenizer
        idf = np.asarray(vec.idf_, dtype=np.float64)
        # token → (column, idf): one dict lookup per distinct token in the hot loop.
        self.vocabulary: dict[str, tuple[int, float]] = {
            str(k): (int(v) + offset, float(idf[int(v)])) for k, v in vec.vocabulary_.items()
        }

    def add(self, text: str, idx: list[int], weights: list[float]) -> None:
        # Lookup and counting both run in C (map, filter, Counter); Python only touches the hits.
        hits = Counter(filter(None, map(self.vocabulary.get, self.analyze(text))))
        if not hits:
            return
        w = [(1.0 + math.log(n)) * idf if n > 1 else idf for (_, idf), n in hits.items()]
        norm = math.sqrt(sum(x * x for x in w))
        idx.extend(col for col, _ in hits)
        weights.extend(x / norm for x in w)


def _char_ngrams(preprocess: Callable[[str], str], ngram_range: tuple[int, int]) -> Callable[[str], list[str]]:
    lo, hi = ngram_range
    spaces = re.compile(r"\s\s+")

    def analyze(text: str) -> list[str]:
        doc = spaces.sub(" ", preprocess(text))
        n_chars = len(doc)
        out: list[str] = []
        for n in range(lo, min(hi, n_chars) + 1):
            out.extend(doc[i : i + n] for i in range(n_chars - n + 1))
        return out

    return analyze


class FastScorer:
    def __init__(self, pipe: Any) -> None:
        union = pipe.named_steps["features"]
        clf = pipe.named_steps["clf"]
        if len(clf.calibrated_classifiers_) != 1:
            raise ValueError("ensemble calibration")
        calibrated = clf.calibrated_classifiers_[0]
        self.classes = [str(c) for c in clf.classes_]
        if len(self.classes) < 3 or not all(isinstance(c, _SigmoidCalibration) for c in calibrated.calibrators):
            raise ValueError("needs sigmoid calibration over three or more classes")
        self.parts: list[_Part] = []
        offset = 0
        for _, vec in union.transformer_list:
            self.parts.append(_Part(vec, offset))
            offset += len(vec.vocabulary_)
        svm = calibrated.estimator
        coef = svm.coef_.toarray() if hasattr(svm.coef_, "toarray") else np.asarray(svm.coef_)
        # Feature-major so one message gathers a few rows instead of scanning every class.
        self.coef_t = np.ascontiguousarray(coef.T, dtype=np.float32)
        self.intercept = np.asarray(svm.intercept_, dtype=np.float64)
        self.a = np.array([c.a_ for c in calibrated.calibrators], dtype=np.float64)
        self.b = np.array([c.b_ for c in calibrated.calibrators], dtype=np.float64)

    def scores(self, text: str) -> np.ndarray:
        idx: list[int] = []
        weights: list[float] = []
        for part in self.parts:
            part.add(text, idx, weights)
        if not idx:
            return self.intercept.copy()
        s: np.ndarray = self.intercept + np.asarray(weights, dtype=np.float32) @ self.coef_t[idx]
        return s

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        scores = np.vstack([self.scores(t) for t in texts])
        # sklearn's _SigmoidCalibration: expit(-(a*f + b)); then each row normalised to sum to one
        # (a row of underflowed zeros becomes uniform, as in sklearn).
        p: np.ndarray = 1.0 / (1.0 + np.exp(self.a * scores + self.b))
        total = p.sum(axis=1, keepdims=True)
        if (total > 0).all():
            p /= total
            return p
        zero = total[:, 0] <= 0
        p[zero] = 1.0 / p.shape[1]
        p[~zero] /= total[~zero]
        return p


def scorer_for(pipe: Any) -> Callable[[Sequence[str]], np.ndarray]:
    """The fast path when the pipeline has the expected shape, else scikit-learn's own."""
    try:
        return FastScorer(pipe).predict_proba
    except (ValueError, AttributeError, KeyError):

        def slow(texts: Sequence[str]) -> np.ndarray:
            return np.asarray(pipe.predict_proba(list(texts)))

        return slow
