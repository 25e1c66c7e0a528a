"""Which classifier is active. Everything that classifies calls `get_classifier()`.

The category model is, in order: the file named by HOTLINE_CLASSIFIER_MODEL_PATH, the version activated
in the database (`hotline classifier activate`), the default shipped in classifiers/models/default.
Grids and categories come from the database when it has them (a city's edits), else the data files."""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from cases.db import session_scope
from cases.settings import Settings, get_settings
from classifiers import store, taxonomy
from classifiers.base import Classifier
from classifiers.classifier import ModelClassifier
from classifiers.fast import Scorer, scorer_for
from classifiers.grids import GridLocator, grid_rows_from_db, grid_rows_from_files
from classifiers.history import recent_grids_from_db
from classifiers.versions import SHIPPED, active_version

log = logging.getLogger(__name__)


def _from_db(settings: Settings) -> tuple[Path | None, str | None, list[dict[str, Any]], list[dict[str, Any]]]:
    """Active model path and version, grid rows, category rows; empty when the database is not there yet."""
    try:
        with session_scope() as s:
            active = active_version(s)
            grids = grid_rows_from_db(s)
            cats = taxonomy.categories_from_db(s)
            path = Path(active.path) if active else None
            return path, active.version if active else None, grids, cats
    except SQLAlchemyError as exc:
        # Before the first migration (a fresh checkout running `hotline classifier predict`).
        log.info("classifier: database not available (%s); using the data files", type(exc).__name__)
        return None, None, [], []


def model_location(settings: Settings, db_path: Path | None, db_version: str | None) -> tuple[Path, str]:
    if settings.classifier_model_path is not None:
        path = settings.classifier_model_path
        return path, str(store.read_card(path).get("version") or path.stem)
    if db_path is not None and db_version is not None:
        return db_path, db_version
    return SHIPPED, str(store.read_card(SHIPPED).get("version") or "default")


def load_scorer(path: Path) -> Scorer:
    """The model's serving tables when it has them (numpy only), else the skops pipeline."""
    serving = store.load_serving(path)
    scorer = serving if serving is not None else scorer_for(store.load(path))
    scorer.warm_up()  # compiled kernels ready (or read from their cache) before the first report
    return scorer


def build_classifier(settings: Settings) -> ModelClassifier:
    db_path, db_version, grid_rows, db_cats = _from_db(settings)
    path, version = model_location(settings, db_path, db_version)
    ref = settings.reference_data_dir
    if not any(r.get("geometry") for r in grid_rows):
        grid_rows = grid_rows_from_files(ref / "grids.csv", ref / "grids.geojson")
    cats = taxonomy.merge(taxonomy.load_categories(ref / "taxonomy.csv"), db_cats)
    return ModelClassifier(
        load_scorer(path),
        GridLocator.from_rows(grid_rows),
        version=version,
        disabled_codes=taxonomy.disabled_codes(cats),
        recent_grids=recent_grids_from_db,
    )


@lru_cache(maxsize=1)
def get_classifier() -> Classifier:
    return build_classifier(get_settings())


def reset_classifier() -> None:
    get_classifier.cache_clear()
