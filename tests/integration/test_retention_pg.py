"""Retention on PostgreSQL: the same query (JSON cast to text, FOR UPDATE OF report SKIP LOCKED) runs and
lets go of exactly the long-closed case's payload and photos."""

from __future__ import annotations

import pytest

from cases import jobs
from cases.db import session_scope
from cases.lifecycle import CaseStatus
from cases.models import Report
from hotline.settings import reset_settings
from intake.retention import apply_retention
from tests.escalation_fixtures import RecordingQueue
from tests.unit.test_retention import NOW, _report_of

pytestmark = pytest.mark.integration


def test_retention_on_postgresql(prod_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    jobs.set_queue(RecordingQueue())
    with session_scope() as s:
        old = _report_of(s, CaseStatus.CLOSED.value, 400, "pg-r1")
        recent = _report_of(s, CaseStatus.CLOSED.value, 5, "pg-r2")
    monkeypatch.setenv("HOTLINE_RETENTION_RAW_DAYS", "30")
    monkeypatch.setenv("HOTLINE_RETENTION_ATTACHMENT_DAYS", "30")
    reset_settings()
    assert apply_retention(NOW) == 2  # one report, its payload and its photos
    assert apply_retention(NOW) == 0
    with session_scope() as s:
        gone, kept = s.get(Report, old), s.get(Report, recent)
        assert gone is not None and kept is not None
        assert (gone.raw, gone.attachments) == ({}, [])
        assert kept.raw and kept.attachments
