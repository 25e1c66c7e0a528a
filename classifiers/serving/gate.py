"""The confidence gate: may this classification dispatch without a person?"""

from __future__ import annotations

from classifiers.base import Classification
from classifiers.settings import ClassifierSettings


def needs_review(classification: Classification, settings: ClassifierSettings) -> bool:
    """True when an agent must confirm the category or the grid before dispatch.

    A per-category threshold overrides the general one: a city may trust the model on 暴露垃圾 at 0.6
    but want every 燃气井盖 report seen by a person."""
    c = classification
    if c.category_code is None or c.grid_code is None:
        return True
    threshold = settings.category_thresholds.get(c.category_code, settings.category_auto_threshold)
    if c.category_confidence < threshold:
        return True
    return c.grid_confidence < settings.grid_auto_threshold
