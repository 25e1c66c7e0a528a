"""The classifier's knobs: dispatch thresholds, which model, how often to look for a new one."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from cases import providers
from cases.settings import HotlineSettings


class ClassifierSettings(HotlineSettings):
    """Confidence thresholds for dispatch without an agent, the model file, the refresh interval."""

    grid_auto_threshold: float = Field(
        default=0.6, description="Grid confidence at or above which a case dispatches without an agent."
    )
    category_thresholds: dict[str, float] = Field(
        default_factory=dict,
        description="A category's own confidence below which its cases wait for an agent, JSON: "
        '{"01011": 0.95}. The general gate is on the department (the rule set\'s min_decision_confidence).',
    )
    classifier_model_path: Path | None = Field(
        default=None,
        description="A .skops category model to use. Unset: the active version in the database, else the "
        "shipped default (classifiers/models/default).",
    )
    classifier_refresh_seconds: float = Field(
        default=30.0,
        description="How often a running process looks in the database for a newly activated model, a "
        "category a city disabled or an edited grid layer, and reloads the classifier when one changed. "
        "0: never (restart to pick changes up).",
    )


SETTINGS = providers.Key("classifier settings", ClassifierSettings)


def classifier_settings() -> ClassifierSettings:
    return providers.get(SETTINGS)
