"""The per-n-gram loops of inference, compiled (numba): one message's TF-IDF entries and their weighted
sum of weight rows, without a Python step or a numpy call per n-gram.

In Python these loops cost ~2× jieba's own segmentation of the same short text (a `map`, a dict lookup, a
`Counter` entry and a weight-row gather per n-gram); compiled, they are a small fraction of it. They
compute what `TfidfVectorizer(sublinear_tf=True, norm="l2")` inside a `FeatureUnion` followed by a linear
model computes; `tests/unit/test_classifier.py` checks the scores against scikit-learn's pipeline.

Compiled once per machine (`cache=True` keeps the machine code beside this file, ~2 s the first time);
`FastScorer.warm_up` compiles them when a process starts, never in a request."""

from __future__ import annotations

import numpy as np
from numba import njit

BITS = 21  # a Unicode code point + 1 fits in 21 bits, so three of them fit in one int64 key
GOLDEN = np.uint64(0x9E3779B97F4A7C15)  # 2**64 / golden ratio: multiplicative hashing spreads keys apart


@njit(cache=True, nogil=True)
def add_block(ids: np.ndarray, idf_by_id: np.ndarray, scale: float, weights: np.ndarray, scores: np.ndarray) -> None:
    """scores += scale · Σ (tf-idf_i / ‖tf-idf‖) · weights[id_i] over the distinct ids of one block, where
    tf is sublinear (1 + log count), as TfidfVectorizer normalises each block of a union on its own.
    `ids` are global column + 1 (row 0 of `weights` is zeros); they are sorted in place."""
    n = ids.shape[0]
    if n == 0:
        return
    ids.sort()
    norm2 = 0.0
    i = 0
    while i < n:
        j = i + 1
        while j < n and ids[j] == ids[i]:
            j += 1
        w = idf_by_id[ids[i]] * (1.0 + np.log(j - i))
        norm2 += w * w
        i = j
    factor = scale / np.sqrt(norm2)
    n_classes = scores.shape[0]
    i = 0
    while i < n:
        j = i + 1
        while j < n and ids[j] == ids[i]:
            j += 1
        w = idf_by_id[ids[i]] * (1.0 + np.log(j - i)) * factor
        row = ids[i]
        for c in range(n_classes):
            scores[c] += w * weights[row, c]
        i = j


@njit(cache=True, nogil=True)
def char_ids(
    codepoints: np.ndarray, lo: int, hi: int, keys: np.ndarray, values: np.ndarray, shift: np.uint64, mask: int
) -> np.ndarray:
    """The ids (global column + 1) of every character n-gram (lo ≤ n ≤ hi ≤ 3) of one text that is in the
    block's vocabulary, looked up in its open-addressing table (`classifiers.serving.fast._IntMap`: a key is the
    code points + 1 packed 21 bits each, 0 marks an empty slot, linear probing)."""
    n = codepoints.shape[0]
    out = np.empty(max(n * (hi - lo + 1), 1), dtype=np.int64)
    m = 0
    for length in range(lo, hi + 1):
        for start in range(n - length + 1):
            key = np.int64(0)
            for k in range(length):
                key = (key << BITS) | (np.int64(codepoints[start + k]) + 1)
            slot = np.int64((np.uint64(key) * GOLDEN) >> shift)
            while True:
                seen = keys[slot]
                if seen == key:
                    out[m] = values[slot]
                    m += 1
                    break
                if seen == 0:
                    break
                slot = (slot + 1) & mask
    return out[:m]


@njit(cache=True, nogil=True)
def add_chars(
    codepoints: np.ndarray,
    lo: int,
    hi: int,
    keys: np.ndarray,
    values: np.ndarray,
    shift: np.uint64,
    mask: int,
    idf_by_id: np.ndarray,
    scale: float,
    weights: np.ndarray,
    scores: np.ndarray,
) -> None:
    """`char_ids` then `add_block`, in one call: at one short message the calls are a fair part of the cost."""
    add_block(char_ids(codepoints, lo, hi, keys, values, shift, mask), idf_by_id, scale, weights, scores)


@njit(cache=True, nogil=True)
def calibrate(scores: np.ndarray, a: np.ndarray, b: np.ndarray) -> None:
    """In place: scikit-learn's per-class sigmoid calibration, 1 / (1 + exp(a·s + b)), then the row
    normalised to sum to one (uniform when every class underflowed, as scikit-learn does)."""
    total = 0.0
    for c in range(scores.shape[0]):
        scores[c] = 1.0 / (1.0 + np.exp(a[c] * scores[c] + b[c]))
        total += scores[c]
    if total > 0:
        for c in range(scores.shape[0]):
            scores[c] /= total
    else:
        for c in range(scores.shape[0]):
            scores[c] = 1.0 / scores.shape[0]


@njit(cache=True, nogil=True)
def top_k(p: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k largest values of `p`, largest first (earlier index first on ties, as a stable
    sort of -p would give): one pass instead of sorting all 250 categories."""
    k = min(k, p.shape[0])
    best = np.full(k, -1, dtype=np.int64)
    for i in range(p.shape[0]):
        v = p[i]
        j = k
        while j > 0 and (best[j - 1] < 0 or p[best[j - 1]] < v):
            j -= 1
        if j < k:
            best[j + 1 :] = best[j:-1].copy()
            best[j] = i
    return best
