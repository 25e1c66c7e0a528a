"""Every package's tables, for the one place that needs all of them: the migration environment (Alembic's
autogenerate and `alembic check` compare the database with SQLModel.metadata, which only holds the tables
whose modules were imported). A package that adds a `models.py` adds it here, or its tables are invisible
to migrations."""

from __future__ import annotations

from types import ModuleType

import agent_ui.accounts.models
import agent_ui.workbench.models
import cases.models
import classifiers.models
import intake.camera.models
import intake.models
import intake.telephony.models
import routing.dashboard.models
import routing.models

MODELS: list[ModuleType] = [
    cases.models,
    classifiers.models,
    intake.models,
    intake.camera.models,
    intake.telephony.models,
    routing.models,
    routing.dashboard.models,
    agent_ui.accounts.models,
    agent_ui.workbench.models,
]
