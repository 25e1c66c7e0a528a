"""A fake `Classifier` with fixed answers: taxonomy names and grid place names found in the text.

Tests about calls and cases pin it instead of the trained model, and `bench/ivr.py --classifier keyword`
pins it to tell the IVR's own cost from the model's. Never behind `get_classifier()` in production."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from cases.settings import kernel_settings
from classifiers.base import Classification, ReportFacts


@dataclass(frozen=True)
class _GridBox:
    code: str
    min_lon: float
    min_lat: float
    max_lon: float
    max_lat: float
    places: tuple[str, ...]


class KeywordClassifier:
    def __init__(self, names: dict[str, str], grids: list[_GridBox]) -> None:
        # Longest names first so 污水井盖 wins over 井盖.
        self._names = sorted(names.items(), key=lambda kv: -len(kv[0]))
        self._grids = grids

    @classmethod
    def from_reference_data(cls, data_dir: Path | None = None) -> KeywordClassifier:
        d = data_dir or kernel_settings().reference_data_dir
        names: dict[str, str] = {}
        with (d / "taxonomy.csv").open(encoding="utf-8") as f:
            for row in csv.DictReader(f):
                if row["kind"] == "事件":
                    name = row["minor_name"].removesuffix("异常")
                    names.setdefault(name, row["full_code"])
        grids: list[_GridBox] = []
        with (d / "grids.csv").open(encoding="utf-8") as f:
            for row in csv.DictReader(f):
                grids.append(
                    _GridBox(
                        row["grid_code"],
                        float(row["min_lon"]),
                        float(row["min_lat"]),
                        float(row["max_lon"]),
                        float(row["max_lat"]),
                        tuple(p for p in row["places"].split("|") if p),
                    )
                )
        return cls(names, grids)

    def classify(self, facts: ReportFacts) -> Classification:
        text = f"{facts.text} {facts.address or ''}"
        code = next((c for name, c in self._names if name in text), None)
        grid, conf, source = None, 0.0, "none"
        if facts.lat is not None and facts.lon is not None:
            for g in self._grids:
                if g.min_lon <= facts.lon < g.max_lon and g.min_lat <= facts.lat < g.max_lat:
                    grid, conf, source = g.code, 0.95, "gps"
                    break
        if grid is None:
            for g in self._grids:
                if any(p in text for p in g.places):
                    grid, conf, source = g.code, 0.7, "text"
                    break
        if grid is None and facts.camera_grid_code:
            grid, conf, source = facts.camera_grid_code, 0.9, "camera"
        return Classification(
            category_code=code,
            category_confidence=0.6 if code else 0.0,
            category_top3=[(code, 0.6)] if code else [],
            grid_code=grid,
            grid_confidence=conf,
            grid_source=source,
            model_version="keyword-interim",
        )
