"""Which classifier is active. Everything that classifies calls `get_classifier()`."""

from __future__ import annotations

from functools import lru_cache

from classifiers.base import Classifier
from classifiers.keyword import KeywordClassifier


@lru_cache(maxsize=1)
def get_classifier() -> Classifier:
    return KeywordClassifier.from_reference_data()


def reset_classifier() -> None:
    get_classifier.cache_clear()
