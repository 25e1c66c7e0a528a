"""The interface every classifier implements. The pipeline, the IVR and the console only see this."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class ReportFacts:
    """What a classifier may use: the text and whatever location evidence came with the report."""

    text: str
    lat: float | None = None
    lon: float | None = None
    address: str | None = None
    camera_grid_code: str | None = None  # a registered camera knows its own grid
    phone: str | None = None  # the reporter's recent reports hint at the grid


@dataclass(frozen=True)
class Classification:
    category_code: str | None
    category_confidence: float
    grid_code: str | None
    grid_confidence: float
    grid_source: str = "none"  # gps | text | camera | history | community | none
    category_top3: list[tuple[str, float]] = field(default_factory=list)
    community_code: str | None = None  # when only the community is known, never a guessed grid
    model_version: str = "unknown"

    def event_data(self) -> dict[str, Any]:
        """What a `classify` event on a case's timeline records of this classification (JSON-ready)."""
        return {
            "category_code": self.category_code,
            "category_confidence": self.category_confidence,
            "category_top3": [list(t) for t in self.category_top3],
            "grid_code": self.grid_code,
            "grid_confidence": self.grid_confidence,
            "grid_source": self.grid_source,
            "community_code": self.community_code,
            "model_version": self.model_version,
        }


class Classifier(Protocol):
    def classify(self, facts: ReportFacts) -> Classification: ...
