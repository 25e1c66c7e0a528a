"""Items for the agents' queue, made directly in the database: held cases (any channel) and reports the
pipeline could not process."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel import Session

from cases.lifecycle import Action
from cases.models import Case, Report, utcnow
from cases.service import apply_action, open_case, record_event
from cases.states import EventKind, ReportState
from tests.console_helpers import GRID


def held_case(
    s: Session,
    title: str,
    *,
    channel: str = "web",
    category: str | None = "06010",
    confidence: float = 0.4,
    grid: str | None = GRID,
    hints: dict[str, Any] | None = None,
    raw: dict[str, Any] | None = None,
    ago: timedelta = timedelta(minutes=10),
    reason: str = "classifier confidence below the threshold",
) -> Case:
    at = utcnow() - ago
    case = open_case(
        s, actor="system:test", title=title, category_code=category, category_confidence=confidence, grid_code=grid
    )
    case.created_at = at
    apply_action(s, case, Action.REGISTER, "system:test")
    case.needs_review = True
    record_event(s, case, EventKind.HOLD_FOR_AGENT, "system:pipeline", reason=reason)
    s.add(
        Report(
            channel=channel,
            external_id=f"t-{title}",
            text=title,
            received_at=at,
            case_id=case.id,
            hints=hints or {},
            raw=raw or {},
            processing_status=ReportState.DONE,
        )
    )
    s.flush()
    return case


def failed_report(
    s: Session, text: str, *, status: str = ReportState.FAILED, ago: timedelta = timedelta(hours=2)
) -> Report:
    at = utcnow() - ago
    r = Report(
        channel="sms",
        external_id=f"f-{text}",
        text=text,
        received_at=at,
        processing_status=status,
        attempts=4,
        last_error="RuntimeError: model down",
        last_attempt_at=at,
    )
    s.add(r)
    s.flush()
    return r
