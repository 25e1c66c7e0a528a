"""`hotline db backup` / `restore` on PostgreSQL, as the operations guide tells it: dump the run's
database with real `hotline` processes, restore into a new EMPTY database, find every report, case and
event there; a second restore over it is refused unless --clean."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import create_engine

from cases import jobs
from cases.db import get_engine, session_scope
from tests.backup_fixtures import holdings, make_cases
from tests.escalation_fixtures import RecordingQueue
from tests.integration.conftest import BIN, PG_ADMIN

pytestmark = pytest.mark.integration


@pytest.fixture
def empty_database() -> Iterator[str]:
    name = f"hotline_restore_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    yield f"{base}/{name}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def hotline(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "hotline"), *args], env=env, capture_output=True, text=True, timeout=300)


def test_backup_restores_every_case_and_event_into_an_empty_database(
    prod_env: dict[str, str], empty_database: str, tmp_path: Path
) -> None:
    jobs.set_queue(RecordingQueue())
    with session_scope() as s:
        make_cases(s, 5)
    before = holdings(get_engine())
    assert len(before["case"]) == 5 and len(before["case_event"]) >= 15
    file = tmp_path / "hotline.dump"
    done = hotline("db", "backup", str(file), env=prod_env)
    assert done.returncode == 0, done.stdout + done.stderr
    restore_env = {**prod_env, "HOTLINE_DATABASE_URL": empty_database}
    done = hotline("db", "restore", str(file), env=restore_env)
    assert done.returncode == 0, done.stdout + done.stderr
    engine = create_engine(empty_database)
    try:
        assert holdings(engine) == before
    finally:
        engine.dispose()
    # The restored database is at the newest migration: the system runs on it as it is.
    done = hotline("cases", "review", env=restore_env)
    assert done.returncode == 0, done.stdout + done.stderr
    again = hotline("db", "restore", str(file), env=restore_env)
    assert again.returncode != 0  # objects exist: pg_restore stops on the first, in one transaction
    done = hotline("db", "restore", "--clean", str(file), env=restore_env)
    assert done.returncode == 0, done.stdout + done.stderr
