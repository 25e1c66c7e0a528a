"""Suggestions while an agent types a report (the console's /console/new): the category top 3 and the
grids to choose from, from the process's loaded classifier — nothing is loaded or stored per keystroke."""

from __future__ import annotations

from dataclasses import dataclass, field

from classifiers.base import ReportFacts
from classifiers.serving.classifier import ModelClassifier
from classifiers.serving.grids import GridResult
from classifiers.serving.registry import get_classifier


@dataclass(frozen=True)
class Suggestions:
    categories: list[tuple[str, float]] = field(default_factory=list)
    grids: list[GridResult] = field(default_factory=list)


def suggest(facts: ReportFacts, grid_limit: int = 3) -> Suggestions:
    """The category top 3 and up to `grid_limit` grids (the classifier's own answer first)."""
    if not facts.text.strip() and not (facts.address or "").strip():
        return Suggestions()
    classifier = get_classifier()
    c = classifier.classify(facts)
    best = GridResult(c.grid_code, c.grid_confidence, c.grid_source, c.community_code)
    if isinstance(classifier, ModelClassifier):
        grids = classifier.grid_candidates(facts, best, grid_limit)
    else:  # a classifier without a gazetteer of its own: its one answer
        grids = [best] if best.grid_code else []
    return Suggestions(list(c.category_top3[:3]), grids[:grid_limit])
