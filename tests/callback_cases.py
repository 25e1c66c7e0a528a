"""Verified cases for the 回访 tests: a real verify event (dated as asked) and a report with a phone."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import col

from cases.db import session_scope
from cases.lifecycle import Action
from cases.models import CaseEvent, Report
from cases.service import apply_action, open_case
from tests.console_helpers import DEPARTMENT, GRID

RESIDENT = "+8613800138000"


def verified_case(
    title: str,
    *,
    phone: str | None = RESIDENT,
    at: datetime | None = None,
    department: str = DEPARTMENT,
    category: str = "06010",
    grid: str = GRID,
) -> str:
    """A case handled by `department` and verified (its verify event dated `at`); its report has `phone`.
    Returns its number."""
    with session_scope() as s:
        case = open_case(
            s, actor="system:test", title=title, category_code=category, grid_code=grid, department_code=department
        )
        s.add(Report(channel="sms", external_id=f"SM{uuid.uuid4().hex}", text=title, phone=phone, case_id=case.id))
        case.status = "handled"
        event = apply_action(s, case, Action.VERIFY, "grid:zhang")
        s.flush()
        if at is not None:
            case.created_at = at - timedelta(days=2)  # reported two days before its 核实
            s.execute(update(CaseEvent).where(col(CaseEvent.id) == event.id).values(at=at))
        return case.number
