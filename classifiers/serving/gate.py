"""The classifier's part of the dispatch gate. Whether the department is right is the routing decision's
own confidence (`routing.rules.decision_confidence`, held below the rule set's minimum); what stays here is
what only the classifier knows: a category a city wants a person to see below its own threshold, and a
grid too uncertain to send anyone to."""

from __future__ import annotations

from classifiers.base import Classification
from classifiers.settings import ClassifierSettings


def category_override_unmet(classification: Classification, settings: ClassifierSettings) -> bool:
    """True when the category has a threshold of its own (HOTLINE_CATEGORY_THRESHOLDS, e.g. every
    燃气井盖 report seen by a person below 0.95) and the model's confidence is under it."""
    c = classification
    threshold = settings.category_thresholds.get(c.category_code or "")
    return threshold is not None and c.category_confidence < threshold


def grid_too_unsure(classification: Classification, settings: ClassifierSettings) -> bool:
    """True when the grid was guessed with less confidence than HOTLINE_GRID_AUTO_THRESHOLD."""
    return classification.grid_code is None or classification.grid_confidence < settings.grid_auto_threshold
