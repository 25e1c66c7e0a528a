"""The production classifier: the trained category model plus the grid locator, behind `Classifier`."""

from __future__ import annotations

from collections.abc import Set

import numpy as np

from classifiers.base import Classification, ReportFacts
from classifiers.serving import kernels
from classifiers.serving.fast import Scorer
from classifiers.serving.grids import GridLocator, GridResult, RecentGrids


class ModelClassifier:
    def __init__(
        self,
        scorer: Scorer,
        locator: GridLocator,
        version: str = "unknown",
        disabled_codes: Set[str] = frozenset(),
        recent_grids: RecentGrids | None = None,
    ) -> None:
        self.locator = locator
        self.version = version
        self.recent_grids = recent_grids
        classes = scorer.classes
        keep = [i for i, c in enumerate(classes) if c not in disabled_codes]
        self._classes = [classes[i] for i in keep]
        self._keep = np.asarray(keep, dtype=np.intp)
        self._filter = len(keep) < len(classes)
        self._scorer = scorer

    def categories(self, texts: list[str]) -> list[list[tuple[str, float]]]:
        classes = self._classes
        if len(texts) == 1:  # the IVR and the pipeline classify one report at a time
            row = self._without_disabled(self._scorer.proba_one(texts[0]))
            top = kernels.top_k(row, 3)
            return [list(zip(map(classes.__getitem__, top.tolist()), row[top].tolist(), strict=True))]
        proba = self._without_disabled(self._scorer.predict_proba(texts))
        # Top 3 of every row with a handful of array calls for the whole batch.
        k = min(3, proba.shape[1])
        top = np.argsort(-proba, axis=1)[:, :k] if k == proba.shape[1] else np.argpartition(-proba, k - 1)[:, :k]
        vals = np.take_along_axis(proba, top, 1)
        order = np.argsort(-vals, axis=1, kind="stable")
        top, vals = np.take_along_axis(top, order, 1), np.take_along_axis(vals, order, 1)
        return [
            list(zip(map(classes.__getitem__, t), v, strict=True))
            for t, v in zip(top.tolist(), vals.tolist(), strict=True)
        ]

    def _without_disabled(self, proba: np.ndarray) -> np.ndarray:
        """A category the city disabled is never proposed; its probability mass goes to the others."""
        if not self._filter:
            return proba
        kept = proba[..., self._keep]
        out: np.ndarray = kept / np.clip(kept.sum(axis=-1, keepdims=True), 1e-12, None)
        return out

    def classify(self, facts: ReportFacts) -> Classification:
        return self.classify_many([facts])[0]

    def grid_candidates(self, facts: ReportFacts, best: GridResult, limit: int = 5) -> list[GridResult]:
        """Grids for an agent to choose from (the console, while the resident is on the line)."""
        text = f"{facts.text}\n{facts.address}" if facts.address else facts.text
        return self.locator.candidates(text, best, limit)

    def classify_many(self, batch: list[ReportFacts]) -> list[Classification]:
        """Every report of the batch, categories first (one scorer call), then each grid."""
        texts = [f"{f.text}\n{f.address}" if f.address else f.text for f in batch]
        tops = self.categories(texts) if self._classes else [[] for _ in batch]
        out = []
        for f, text, top in zip(batch, texts, tops, strict=True):
            g = self.locator.locate(text, f.lat, f.lon, f.camera_grid_code, f.phone, self.recent_grids)
            out.append(
                Classification(
                    category_code=top[0][0] if top else None,
                    category_confidence=top[0][1] if top else 0.0,
                    category_top3=top,
                    grid_code=g.grid_code,
                    grid_confidence=g.confidence,
                    grid_source=g.source,
                    community_code=g.community_code,
                    model_version=self.version,
                )
            )
        return out
