"""Which classifier is active. Everything that classifies calls `get_classifier()`.

The category model is, in order: the file named by HOTLINE_CLASSIFIER_MODEL_PATH, the version activated
in the database (`hotline classifier activate`), the default shipped in classifiers/models/default.
Grids and categories come from the database when it has them (a city's edits), else the data files.

A running process (web node, worker) looks at what its classifier was built from every
`classifier_refresh_seconds` and rebuilds it when that changed: activating a model, disabling a category
or importing a grid layer reaches every node without a restart. The thread that notices rebuilds; the
others keep classifying with the classifier they have until the new one is ready."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, select

from cases import providers
from cases.db import session_scope
from cases.models import Category, Grid
from cases.providers import Refreshing
from cases.settings import kernel_settings
from classifiers.base import Classifier
from classifiers.models import ModelVersion
from classifiers.serving import store, taxonomy
from classifiers.serving.classifier import ModelClassifier
from classifiers.serving.fast import Scorer, scorer_for
from classifiers.serving.grids import GridLocator, grid_rows_from_db, grid_rows_from_files
from classifiers.serving.history import recent_grids_from_db
from classifiers.serving.versions import SHIPPED, active_version
from classifiers.settings import ClassifierSettings, classifier_settings

log = logging.getLogger(__name__)


def _from_db() -> tuple[Path | None, str | None, list[dict[str, Any]], list[dict[str, Any]]]:
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


def model_location(settings: ClassifierSettings, db_path: Path | None, db_version: str | None) -> tuple[Path, str]:
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


def build_classifier(settings: ClassifierSettings, ref: Path) -> ModelClassifier:
    """The classifier `settings` name, with the grids and categories of the database, else of the files in `ref`."""
    db_path, db_version, grid_rows, db_cats = _from_db()
    path, version = model_location(settings, db_path, db_version)
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


def serving_state(session: Session) -> str:
    """A digest of what `build_classifier` reads from the database; equal digests, same classifier.

    Three small queries: the active version, the disabled categories, and the gazetteer of every grid with
    the size of its geometry (a re-imported layer changes it; reading whole polygons every few seconds on
    every node would not be cheap)."""
    active = session.exec(select(ModelVersion.version).where(col(ModelVersion.active))).first()
    disabled = session.exec(
        select(Category.code).where(Category.kind == taxonomy.MATTER, col(Category.active).is_(False))
    ).all()
    geometry_size = sa.func.length(sa.cast(col(Grid.geometry), sa.String))
    query = sa.select(col(Grid.code), col(Grid.community_code), col(Grid.community), col(Grid.places), geometry_size)
    grids = session.connection().execute(query).all()
    parts = [repr(active), repr(sorted(disabled)), repr(sorted(tuple(map(str, g)) for g in grids))]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _current_state() -> str | None:
    try:
        with session_scope() as s:
            return serving_state(s)
    except SQLAlchemyError:
        return None  # no database (yet): keep what is loaded


def _build() -> ModelClassifier:
    return build_classifier(classifier_settings(), kernel_settings().reference_data_dir)


def _refreshing() -> Refreshing[ModelClassifier]:
    return Refreshing("classifier", _build, _current_state, lambda: classifier_settings().classifier_refresh_seconds)


LIVE = providers.Key("classifier", _refreshing)


def get_classifier() -> Classifier:
    """The process's classifier, rebuilt when the database says it is out of date (see the module doc)."""
    return providers.get(LIVE).get()


def when_running_processes_reload() -> str:
    """When a change this process made reaches the other processes, for messages to the operator."""
    every = classifier_settings().classifier_refresh_seconds
    return f"within {every:g} s" if every > 0 else "on restart (HOTLINE_CLASSIFIER_REFRESH_SECONDS=0)"


def reset_classifier() -> None:
    """Forget the loaded classifier; the next `get_classifier()` builds it again."""
    providers.reset(LIVE)
