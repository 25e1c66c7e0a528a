"""Cases with events to back up, and what a restored database must hold of them (the backup tests on
SQLite and PostgreSQL)."""

from __future__ import annotations

from sqlalchemy import Engine, text
from sqlmodel import Session

from cases.lifecycle import Action
from cases.service import apply_action, open_case
from intake.core import accept
from intake.schemas import ReportIn


def make_cases(s: Session, n: int = 3) -> None:
    """`n` reports, each its own case, registered and dispatched: reports, cases and four kinds of event."""
    for i in range(n):
        accepted = accept(s, ReportIn(channel="api", external_id=f"backup-{i}", text=f"第{i}号井盖缺失"))
        case = open_case(s, actor="system:test", title=f"第{i}号井盖缺失", category_code="06010")
        s.flush()
        accepted.report.case_id = case.id
        s.add(accepted.report)
        apply_action(s, case, Action.REGISTER, "system:test")
        apply_action(s, case, Action.DISPATCH, "agent:li", department_code="sanitation")


def holdings(engine: Engine) -> dict[str, list[tuple[object, ...]]]:
    """Every report, case and case event, by id, with what identifies it."""
    queries = {
        "report": "SELECT id, channel, external_id, case_id FROM report ORDER BY id",
        "case": 'SELECT id, number, status, department_code FROM "case" ORDER BY id',
        "case_event": "SELECT id, case_id, action, actor, to_status FROM case_event ORDER BY id",
    }
    with engine.connect() as conn:
        return {name: [tuple(row) for row in conn.execute(text(sql))] for name, sql in queries.items()}
