"""Showing a reporter's full phone number to a person is an event on the case: who asked, for which
report, never the number itself (the audit trail must not become a second copy of it)."""

from __future__ import annotations

from sqlmodel import Session

from cases.models import Case, Report
from cases.service import record_event
from cases.states import EventKind


def reveal_phone(session: Session, case: Case, report_id: int, actor: str) -> str | None:
    """The full number of one of the case's reports, audited; None when the report is not the case's or
    has no number (nothing is recorded then). The caller commits."""
    report = session.get(Report, report_id)
    if report is None or report.case_id != case.id or not report.phone:
        return None
    record_event(session, case, EventKind.REVEAL_PHONE, actor, data={"report_id": report.id})
    session.flush()
    return report.phone
