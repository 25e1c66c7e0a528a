"""Retention of closed cases' raw payloads and photos: only closed cases, only past the configured days,
nothing when unset, and a second run changes nothing."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image
from sqlmodel import Session

from cases.db import session_scope
from cases.lifecycle import CaseStatus
from cases.models import Case, Report, utcnow
from cases.service import open_case
from hotline.settings import reset_settings
from intake.models import Attachment
from intake.retention import apply_retention
from intake.storage import get_backend, store_image
from tests.escalation_fixtures import RecordingQueue, recording_queue  # noqa: F401  (the fixture)

NOW = utcnow()


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(buf, format="PNG")
    return buf.getvalue()


def _report_of(s: Session, status: str, closed_days_ago: int | None, key: str) -> int:
    case = open_case(s, actor="system:test", title="井盖缺失", category_code="06010")
    case.status = status
    case.closed_at = NOW - timedelta(days=closed_days_ago) if closed_days_ago is not None else None
    s.add(case)
    s.flush()
    att = store_image(s, _png())
    report = Report(
        channel="web", external_id=key, text="井盖缺失", raw={"form": {"Body": "井盖缺失"}}, attachments=[att.id]
    )
    report.case_id = case.id
    s.add(report)
    s.flush()
    assert report.id is not None
    return report.id


@pytest.fixture
def reports(recording_queue: RecordingQueue) -> dict[str, int]:  # noqa: F811
    with session_scope() as s:
        return {
            "closed_long_ago": _report_of(s, CaseStatus.CLOSED.value, 400, "r1"),
            "closed_lately": _report_of(s, CaseStatus.CLOSED.value, 10, "r2"),
            "reopened": _report_of(s, CaseStatus.IN_PROGRESS.value, 400, "r3"),  # closed_at kept from before
        }


def _state(report_id: int) -> tuple[dict[str, object], list[str], bool]:
    with session_scope() as s:
        report = s.get(Report, report_id)
        assert report is not None
        files = [s.get(Attachment, a) for a in report.attachments]
        stored = all(a is not None and get_backend().get(a.storage_key) for a in files)
        return report.raw, report.attachments, stored


def test_nothing_is_let_go_unless_configured(reports: dict[str, int]) -> None:
    assert apply_retention(NOW) == 0
    assert all(_state(r)[0] and _state(r)[2] for r in reports.values())


def test_raw_payloads_and_photos_of_long_closed_cases_go(
    reports: dict[str, int], monkeypatch: pytest.MonkeyPatch, env: Path
) -> None:
    old = reports["closed_long_ago"]
    with session_scope() as s:
        report = s.get(Report, old)
        assert report is not None
        (att_id,) = report.attachments
        att = s.get(Attachment, att_id)
        assert att is not None
        keys = [k for k in (att.storage_key, att.thumb_key) if k]
    monkeypatch.setenv("HOTLINE_RETENTION_RAW_DAYS", "365")
    reset_settings()
    assert apply_retention(NOW) == 1
    raw, attachments, _ = _state(old)
    assert raw == {} and attachments == [att_id]  # photos are kept longer, unless configured
    monkeypatch.setenv("HOTLINE_RETENTION_ATTACHMENT_DAYS", "90")
    reset_settings()
    assert apply_retention(NOW) == 1
    assert _state(old)[:2] == ({}, [])
    assert all(get_backend().get(k) is None for k in keys)
    with session_scope() as s:
        assert s.get(Attachment, att_id) is None
        case = s.get(Case, s.get(Report, old).case_id)  # type: ignore[union-attr]
        assert case is not None and case.title == "井盖缺失"  # the case itself stays
    for kept in ("closed_lately", "reopened"):
        raw, attachments, stored = _state(reports[kept])
        assert raw and attachments and stored, kept
    assert apply_retention(NOW) == 0  # run again: nothing left to do
