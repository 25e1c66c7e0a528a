"""Classify a table of reports at once (`hotline classifier predict`): each row's text and optional
lat, lon in; the row back with its category and grid columns added."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from classifiers.base import Classification, ReportFacts
from classifiers.serving.classifier import ModelClassifier

# community_code is its own column: a 12-digit community in grid_code would read as a guessed grid.
PREDICTION_FIELDS = (
    "category",
    "category_confidence",
    "category_top3",
    "grid_code",
    "grid_confidence",
    "grid_source",
    "community_code",
)


def _float(v: str | None) -> float | None:
    try:
        return float(v) if v not in (None, "") else None
    except ValueError:
        return None


def _columns(c: Classification) -> dict[str, str]:
    return {
        "category": c.category_code or "",
        "category_confidence": f"{c.category_confidence:.4f}",
        "category_top3": json.dumps([[k, round(p, 4)] for k, p in c.category_top3], ensure_ascii=False),
        "grid_code": c.grid_code or "",
        "grid_confidence": f"{c.grid_confidence:.4f}",
        "grid_source": c.grid_source,
        "community_code": c.community_code or "",
    }


def predict_rows(classifier: ModelClassifier, rows: Sequence[Mapping[str, str]]) -> list[dict[str, str]]:
    """Every row with `PREDICTION_FIELDS` added; a lat or lon that is no number is ignored."""
    facts = [ReportFacts(text=r.get("text") or "", lat=_float(r.get("lat")), lon=_float(r.get("lon"))) for r in rows]
    return [{**r, **_columns(c)} for r, c in zip(rows, classifier.classify_many(facts), strict=True)]
