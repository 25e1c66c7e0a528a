"""How good a category model is: accuracy, macro-F1, per-class P/R/F1, confusion, calibration (ECE)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support
from sklearn.pipeline import Pipeline
from sklearn.svm import LinearSVC


def expected_calibration_error(confidence: np.ndarray, correct: np.ndarray, bins: int = 15) -> float:
    """Top-label ECE with equal-width bins: the gap between how sure the model says it is and how often it
    is right, weighted by how many predictions fall in each bin."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            total += mask.mean() * abs(float(correct[mask].mean()) - float(confidence[mask].mean()))
    return float(total)


def evaluate_predictions(
    y_true: Sequence[str], y_pred: Sequence[str], proba: np.ndarray | None = None
) -> dict[str, Any]:
    labels = sorted(set(y_true) | set(y_pred))
    p, r, f, n = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    out: dict[str, Any] = {
        "n": len(y_true),
        "accuracy": round(float(accuracy_score(y_true, y_pred)), 4),
        "macro_f1": round(float(f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)), 4),
        "per_class": {
            lab: {
                "precision": round(float(p[i]), 4),
                "recall": round(float(r[i]), 4),
                "f1": round(float(f[i]), 4),
                "support": int(n[i]),
            }
            for i, lab in enumerate(labels)
        },
        "confusion": {"labels": labels, "matrix": confusion_matrix(y_true, y_pred, labels=labels).tolist()},
    }
    if proba is not None:
        correct = np.asarray(y_true) == np.asarray(y_pred)
        out["ece"] = round(expected_calibration_error(proba.max(axis=1), correct), 4)
    return out


def evaluate(pipe: Any, texts: Sequence[str], labels: Sequence[str]) -> dict[str, Any]:
    proba = np.asarray(pipe.predict_proba(list(texts)))
    classes = np.asarray([str(c) for c in pipe.classes_])
    pred = classes[proba.argmax(axis=1)].tolist()
    return evaluate_predictions(list(labels), pred, proba)


def baseline_pipeline() -> Pipeline:
    """The reference point the issue names: character 1–3-gram TF-IDF and a LinearSVC, nothing else."""
    return Pipeline([("tfidf", TfidfVectorizer(analyzer="char", ngram_range=(1, 3))), ("svm", LinearSVC())])


def evaluate_baseline(
    train_texts: Sequence[str], train_labels: Sequence[str], texts: Sequence[str], labels: Sequence[str]
) -> dict[str, Any]:
    pipe = baseline_pipeline().fit(list(train_texts), list(train_labels))
    return evaluate_predictions(list(labels), [str(x) for x in pipe.predict(list(texts))])
