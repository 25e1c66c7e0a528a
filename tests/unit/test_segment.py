"""The fast segmentation must give jieba's words exactly, or the model would see features it was not
trained on."""

from __future__ import annotations

import csv
import random

import jieba

from classifiers import tokenizer
from classifiers.segment import compile_cut
from tests.conftest import REPO, SHARED_DATA


def _texts() -> list[str]:
    with (REPO / "classifiers" / "data" / "seed_corpus.csv").open(encoding="utf-8") as f:
        texts = [r["text"] for r in csv.DictReader(f)]
    dev = SHARED_DATA / "teddycup2020c" / "dev.csv"
    if dev.exists():  # long written complaints with Latin letters, numbers and punctuation
        with dev.open(encoding="utf-8") as f:
            texts += [r["text"] for r in csv.DictReader(f)][:400]
    # Mixed scripts, separators jieba splits on, words of the domain dictionary run together, empties.
    rnd = random.Random(7)
    alphabet = "东门菜市场垃圾井盖下水道盖子占道经营摆摊的了吗ab1 2.%#-_&+\n\r\t，。！AZ"
    texts += ["".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 40))) for _ in range(2000)]
    return [*texts, "", " ", "\r\n", "Ｕ盘ａｂｃ", "😀垃圾"]


def test_same_words_as_jieba_with_the_domain_dictionary() -> None:
    t = tokenizer.segmenter()
    cut = compile_cut(t)
    for text in _texts():
        assert cut(text) == t.lcut(text, HMM=False), text


def test_same_words_as_plain_jieba() -> None:
    t = jieba.Tokenizer()
    cut = compile_cut(t)
    for text in _texts()[:500]:
        assert cut(text) == t.lcut(text, HMM=False), text


def test_tokenize_keeps_domain_words_whole_and_adds_canonical_terms() -> None:
    words = tokenizer.tokenize("东门菜场那边有人摆摊的占道经营 窨井盖没了")
    assert {"占道经营", "窨井盖", "摆摊的", "流动摊贩"} <= set(words)
    assert not any(w.isspace() for w in words)
