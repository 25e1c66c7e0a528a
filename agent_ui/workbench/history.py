"""Read model: a resident's earlier cases by phone number, for the agent who has them on the line
(/console/new and the call panel's screen pop). Bounded: the newest reports of the number by the
report.phone index, then their cases, narrowed to what the reader may see."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from cases.access import Reader, scope_cases
from cases.models import Case, Report
from cases.phone import InvalidPhone, normalize_phone

REPORTS_LOOKED_AT = 200  # a heavy reporter's older reports are not read at all
CASES_SHOWN = 10


@dataclass(frozen=True)
class EarlierCase:
    number: str
    title: str
    category_code: str | None
    status: str
    created_at: datetime


def complete_phone(raw: str | None) -> str | None:
    """The E.164 number when `raw` is a whole number (a mobile's 11 digits, a fixed line with its area
    code); None while it is still being typed or is no number."""
    try:
        return normalize_phone(raw)
    except InvalidPhone:
        return None


def earlier_cases(session: Session, phone: str, reader: Reader, limit: int = CASES_SHOWN) -> list[EarlierCase]:
    """The newest cases reported from `phone` (E.164), newest first."""
    recent = (
        select(col(Report.case_id))
        .where(col(Report.phone) == phone, col(Report.case_id).is_not(None))
        .order_by(col(Report.id).desc())
        .limit(REPORTS_LOOKED_AT)
    )
    query = scope_cases(select(Case).where(col(Case.id).in_(recent)), reader)
    rows = session.exec(query.order_by(col(Case.created_at).desc(), col(Case.id).desc()).limit(limit)).all()
    return [EarlierCase(c.number, c.title, c.category_code, c.status, c.created_at) for c in rows]
