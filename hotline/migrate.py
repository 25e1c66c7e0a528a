"""Alembic, driven from code: the server upgrades on start, `hotline db upgrade` does it by hand. The script
directory lives here, in the composition root, because only here are every package's tables known
(hotline/tables.py)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from cases.db import get_engine
from cases.settings import kernel_settings

MIGRATIONS = Path(__file__).parent / "migrations"
VERSION_TABLE = "alembic_version"  # Alembic's default, which env.py keeps


def alembic_config(url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", (url or kernel_settings().database_url).replace("%", "%%"))
    return cfg


def upgrade(url: str | None = None, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def check(url: str | None = None) -> None:
    """Raise if the models and the migrations disagree (alembic check)."""
    command.check(alembic_config(url))


def revision(message: str, url: str | None = None) -> None:
    command.revision(alembic_config(url), message=message, autogenerate=True)


def is_at_head(url: str | None = None) -> bool:
    """Whether the database has every migration applied (a new, empty one has none). Read from Alembic's
    version table directly: asking through Alembic's MigrationContext logs two lines to a command's output."""
    url = url or kernel_settings().database_url
    heads = set(ScriptDirectory.from_config(alembic_config(url)).get_heads())
    with get_engine(url).connect() as connection:
        if not inspect(connection).has_table(VERSION_TABLE):
            return False
        current = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars()
        return set(current) == heads
