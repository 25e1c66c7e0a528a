"""The reporter's recent reports as grid evidence: where their last cases were."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from sqlmodel import col, select

from cases.db import session_scope
from cases.models import Case, Report, utcnow


def recent_grids_from_db(phone: str, days: int = 90, limit: int = 5) -> Sequence[str]:
    since = utcnow() - timedelta(days=days)
    with session_scope() as s:
        rows = s.exec(
            select(Case.grid_code)
            .join(Report, col(Report.case_id) == col(Case.id))
            .where(Report.phone == phone, col(Report.received_at) >= since, col(Case.grid_code).is_not(None))
            .order_by(col(Report.received_at).desc())
            .limit(limit)
        ).all()
    return [g for g in rows if g]
