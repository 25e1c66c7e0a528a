"""Stratified k-fold cross-validation of the category recipe on a training file only.

    .venv/bin/python -m classifiers.training.crossval TRAIN.csv [--folds 5] [--c 0.3 1 3] [--word-scale 1.0]
        [--subject-weight 0.7] [--seed 0]

The evaluation file never chooses settings: a variant is adopted only when it beats the recipe on most
folds, not on the mean alone. Each text is segmented once; the vectorisers are refitted inside every fold
(their vocabulary and IDF come from that fold's training part), the SVM is scored by its decision rule."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold
from sklearn.svm import LinearSVC

from classifiers.tokenizer import normalise, subject, tokenize
from classifiers.training.model import Params, char_block
from classifiers.training.trainer import read_corpus


def _identity(tokens: list[str]) -> list[str]:
    return tokens


def cross_validate(
    texts: Sequence[str],
    labels: Sequence[str],
    params: Params = Params(),
    c_grid: Sequence[float] = (0.3, 1.0, 3.0),
    folds: int = 5,
    word_scale: float = 1.0,
    seed: int = 0,
) -> dict[str, Any]:
    """Macro-F1 per fold for each C: {"C": {c: [f1, ...]}, "best": c, "mean": m, "std": s}.

    The subject block (`params.subject_weight`; 0 leaves it out) is weighted as `model.fit` weighs it."""
    y = np.asarray(labels)
    words = [tokenize(t) for t in texts]
    scores: dict[float, list[float]] = {c: [] for c in c_grid}
    for tr, te in StratifiedKFold(folds, shuffle=True, random_state=seed).split(np.zeros(len(y)), y):
        wv = TfidfVectorizer(
            analyzer=_identity,
            ngram_range=params.word_ngrams,
            sublinear_tf=True,
            min_df=params.min_df,
            dtype=np.float32,
        )
        cv = char_block(normalise, params.char_ngrams, params.min_df)
        blocks_tr = [wv.fit_transform([words[i] for i in tr]) * word_scale, cv.fit_transform([texts[i] for i in tr])]
        blocks_te = [wv.transform([words[i] for i in te]) * word_scale, cv.transform([texts[i] for i in te])]
        if params.subject_weight:
            sv = char_block(subject, params.char_ngrams, params.min_df)
            blocks_tr.append(sv.fit_transform([texts[i] for i in tr]) * params.subject_weight)
            blocks_te.append(sv.transform([texts[i] for i in te]) * params.subject_weight)
        x_tr, x_te = sp.hstack(blocks_tr).tocsr(), sp.hstack(blocks_te).tocsr()
        for c in c_grid:
            svm = LinearSVC(C=c, class_weight="balanced").fit(x_tr, y[tr])
            scores[c].append(float(f1_score(y[te], svm.predict(x_te), average="macro")))
    best = max(scores, key=lambda c: float(np.mean(scores[c])))
    return {
        "C": {str(c): [round(v, 4) for v in s] for c, s in scores.items()},
        "best": best,
        "mean": round(float(np.mean(scores[best])), 4),
        "std": round(float(np.std(scores[best])), 4),
    }


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("train", type=Path)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--c", type=float, nargs="+", default=[0.3, 1.0, 3.0])
    ap.add_argument("--min-df", type=int, default=Params().min_df)
    ap.add_argument("--word-scale", type=float, default=1.0)
    ap.add_argument(
        "--subject-weight",
        type=float,
        default=Params().subject_weight,
        help="weight of the subject block; 0 leaves it out",
    )
    ap.add_argument("--seed", type=int, default=0, help="StratifiedKFold random_state")
    args = ap.parse_args(argv)
    corpus = read_corpus(args.train)
    params = Params(min_df=args.min_df, subject_weight=args.subject_weight)
    result = cross_validate(corpus.texts, corpus.labels, params, args.c, args.folds, args.word_scale, args.seed)
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
