"""`hotline db backup` / `restore` on SQLite: every case and event comes back, into an empty file only
unless --clean."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine
from typer.testing import CliRunner

from cases.db import get_engine, session_scope
from hotline.cli import app
from hotline.settings import reset_settings
from tests.backup_fixtures import holdings, make_cases
from tests.escalation_fixtures import RecordingQueue, recording_queue  # noqa: F401  (the fixture)


def test_backup_and_restore_a_sqlite_database(
    recording_queue: RecordingQueue,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with session_scope() as s:
        make_cases(s)
    before = holdings(get_engine())
    assert len(before["case"]) == 3 and len(before["case_event"]) >= 9
    runner = CliRunner()
    file = tmp_path / "hotline.backup"
    r = runner.invoke(app, ["db", "backup", str(file)])
    assert r.exit_code == 0, r.output
    fresh = tmp_path / "fresh.db"
    monkeypatch.setenv("HOTLINE_DATABASE_URL", f"sqlite:///{fresh}")
    reset_settings()
    r = runner.invoke(app, ["db", "restore", str(file)])
    assert r.exit_code == 0, r.output
    assert holdings(create_engine(f"sqlite:///{fresh}")) == before
    again = runner.invoke(app, ["db", "restore", str(file)])
    assert again.exit_code == 1 and "already holds tables" in again.output
    assert runner.invoke(app, ["db", "restore", str(file), "--clean"]).exit_code == 0
