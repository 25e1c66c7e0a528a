"""The category model: word and character TF-IDF, a linear SVM, calibrated probabilities.

Word features (jieba + the domain dictionary) carry the terms of the trade (占道经营, 渣土车); character
n-grams carry what segmentation breaks: recogniser slips, unseen place names, run-together SMS. A third block,
character n-grams of the subject line alone, lets the words a resident chose for the subject count again."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.svm import LinearSVC

from classifiers.tokenizer import normalise, subject, tokenize


@dataclass(frozen=True)
class Params:
    c: float = 1.0
    word_ngrams: tuple[int, int] = (1, 1)
    char_ngrams: tuple[int, int] = (1, 3)
    min_df: int = 2
    # Weight of the subject block (character n-grams of `subject`) against the whole-text blocks (1.0 each).
    subject_weight: float = 0.7
    calibration: str = "sigmoid"
    folds: int = 5
    # Upper bound on stored SVM weights: 250 categories × every n-gram would make a 30 MB artifact that
    # loads in seconds; the smallest weights change almost no decision.
    max_weights: int = 400_000


def char_block(preprocessor: Callable[[str], str], ngrams: tuple[int, int], min_df: int) -> TfidfVectorizer:
    """Character n-gram TF-IDF of what `preprocessor` makes of a text (the whole text, or its subject)."""
    return TfidfVectorizer(
        analyzer="char",
        preprocessor=preprocessor,
        lowercase=False,  # ignored with a preprocessor; said so the fast path need not know that
        ngram_range=ngrams,
        sublinear_tf=True,
        min_df=min_df,
        dtype=np.float32,
    )


def build_pipeline(params: Params = Params(), n_samples: int | None = None) -> Pipeline:
    # Tiny corpora (a city's first corrections, test fixtures) cannot afford min_df=2 or 5 folds.
    min_df = params.min_df if n_samples is None or n_samples >= 500 else 1
    features = FeatureUnion(
        [
            (
                "word",
                TfidfVectorizer(
                    tokenizer=tokenize,
                    token_pattern=None,
                    lowercase=False,
                    ngram_range=params.word_ngrams,
                    sublinear_tf=True,
                    min_df=min_df,
                    dtype=np.float32,
                ),
            ),
            ("char", char_block(normalise, params.char_ngrams, min_df)),
            ("subject", char_block(subject, params.char_ngrams, min_df)),
        ]
    )
    # Balanced weights: macro-F1 counts the rare categories as much as 暴露垃圾.
    svm = LinearSVC(C=params.c, class_weight="balanced")
    # ensemble=False: one SVM refitted on everything, calibrated on out-of-fold scores; predicting costs
    # one matrix product instead of one per fold.
    calibrated = CalibratedClassifierCV(svm, method=params.calibration, cv=params.folds, ensemble=False)
    return Pipeline([("features", features), ("clf", calibrated)])


def pad_rare(texts: Sequence[str], labels: Sequence[str], minimum: int) -> tuple[list[str], list[str]]:
    """Repeat the examples of labels seen fewer than `minimum` times until they reach it.

    Calibration needs every label in every fold. A local subclass with one agent correction would
    otherwise block training altogether; repeating it costs only some overconfidence on that label."""
    out_t, out_l = list(texts), list(labels)
    counts: dict[str, int] = {}
    for lab in labels:
        counts[lab] = counts.get(lab, 0) + 1
    for lab, n in counts.items():
        if n < minimum:
            own = [t for t, lab2 in zip(texts, labels, strict=True) if lab2 == lab]
            extra = [own[i % n] for i in range(minimum - n)]
            out_t.extend(extra)
            out_l.extend([lab] * len(extra))
    return out_t, out_l


def choose_c(features: Any, labels: Sequence[str], grid: Sequence[float]) -> tuple[float, dict[float, float]]:
    """C by cross-validated macro-F1 on the training data only: the evaluation file never chooses.

    Runs on the already vectorised matrix (the vocabulary and IDF come from all training texts, which
    carries no label information) so segmentation, the slow part, happens once."""
    folds = StratifiedKFold(3, shuffle=True, random_state=0)
    y = np.asarray(labels)
    scores: dict[float, float] = {}
    for c in grid:
        svm = LinearSVC(C=c, class_weight="balanced")
        scores[c] = float(np.mean(cross_val_score(svm, features, y, cv=folds, scoring="f1_macro")))
    return max(scores, key=lambda c: scores[c]), scores


def fit(
    texts: Sequence[str],
    labels: Sequence[str],
    params: Params = Params(),
    c_grid: Sequence[float] = (),
    step: Callable[[str], None] = lambda _: None,
) -> tuple[Pipeline, dict[str, Any]]:
    """The fitted pipeline and what was chosen while fitting it. `step` hears about each phase."""
    folds = params.folds
    texts, labels = pad_rare(texts, labels, folds)
    pipe = build_pipeline(params, len(texts))
    features, clf = pipe.named_steps["features"], pipe.named_steps["clf"]
    step("vectorise")
    x = features.fit_transform(list(texts))
    for _, vec in features.transformer_list:
        # The n-grams min_df dropped: kept by sklearn for introspection only, and most of the artifact.
        if hasattr(vec, "stop_words_"):
            del vec.stop_words_
    # The subject block's weight is applied to the columns here and folded into the SVM weights after
    # fitting (below), not set as a FeatureUnion transformer weight: the fitted pipeline stays plain
    # l2-normalised TF-IDF blocks and one linear model, which is what `classifiers.serving.fast` reads.
    scale = block_scale(features, {"subject": params.subject_weight})
    x = sp.csr_matrix(x.multiply(scale[None, :]), dtype=np.float32) if (scale != 1.0).any() else x
    info: dict[str, Any] = {"C": params.c, "calibration": params.calibration, "folds": folds}
    if len(c_grid) > 1:
        step("choose C")
        best, scores = choose_c(x, labels, c_grid)
        clf.set_params(estimator__C=best)
        info.update(C=best, cv_macro_f1={str(c): round(v, 4) for c, v in scores.items()})
    step("fit and calibrate")
    clf.fit(x, list(labels))
    for calibrated in clf.calibrated_classifiers_:
        svm = calibrated.estimator
        # Same decision values on the unscaled features: w · (s ⊙ x) = (w ⊙ s) · x.
        svm.coef_ = np.asarray(svm.coef_) * scale[None, :]
        info["weights_kept"] = prune(svm, params.max_weights)
    return pipe, info


def block_scale(features: FeatureUnion, weights: dict[str, float]) -> np.ndarray:
    """One factor per column of the fitted union: `weights[block]` for that block's columns, else 1."""
    parts = [
        np.full(len(vec.vocabulary_), weights.get(name, 1.0), dtype=np.float64)
        for name, vec in features.transformer_list
    ]
    return np.concatenate(parts)


def prune(svm: LinearSVC, max_weights: int) -> float:
    """Keep each class's largest weights within the budget and store them sparse. Returns the share kept."""
    coef = np.asarray(svm.coef_)
    per_class = max(1, max_weights // coef.shape[0])
    if per_class >= coef.shape[1]:
        return 1.0
    cut = -np.partition(-np.abs(coef), per_class - 1, axis=1)[:, per_class - 1 : per_class]
    # float32 like the TF-IDF matrix: scipy multiplies two sparse matrices only of one dtype.
    svm.coef_ = np.where(np.abs(coef) >= cut, coef, 0.0).astype(np.float32)
    svm.sparsify()
    return float(round(per_class / int(coef.shape[1]), 4))
