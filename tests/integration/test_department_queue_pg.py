"""The department's queue on PostgreSQL: with a city's worth of case history, one department's queue and its
tab counts are read through indexes (EXPLAIN), never a scan of every case, and they stay within the
department."""

from __future__ import annotations

import time
from typing import Any

import pytest
from sqlalchemy import func, text
from sqlalchemy.dialects import postgresql
from sqlmodel import col

from cases.access import Reach, Reader
from cases.db import get_engine, session_scope
from cases.models import Case, utcnow
from routing.department_queue import (
    Card,
    DeptFilter,
    StatusGroup,
    department_query,
    department_queue,
    queue_order,
    running_clocks,
)

pytestmark = pytest.mark.integration

DEPARTMENTS = ["sanitation", "municipal", "greening", "traffic", "water", "housing", "market", "police"]


def _fill(n: int) -> None:
    """`n` cases over eight departments: one in 47 still open (spread over the four tabs), the rest closed."""
    with get_engine().begin() as conn:
        conn.execute(text('TRUNCATE report, case_event, "case", case_counter, sla_clock RESTART IDENTITY CASCADE'))
        conn.execute(
            text(
                """INSERT INTO "case" (number, title, category_code, grid_code, grade, department_code, status,
                       needs_review, needs_check, return_count, reopen_count, extension_count, overdue,
                       supervision, created_at, updated_at, handle_deadline)
                   SELECT 'D-' || g, '垃圾满溢', CASE WHEN g % 3 = 0 THEN '01010' ELSE '06010' END,
                          '421102001001001', 'normal', (CAST(:depts AS text[]))[1 + g % 8],
                          CASE WHEN g % 47 <> 0 THEN 'closed'
                               ELSE (ARRAY['dispatched', 'in_progress', 'handled', 'returned'])[1 + (g / 376) % 4] END,
                          false, false, 0, 0, 0, g % 400 = 0, CASE WHEN g % 800 = 0 THEN 'yellow' END,
                          now() - g * interval '1 minute', now(), now() + (g % 97) * interval '1 hour'
                   FROM generate_series(1, :n) g"""
            ),
            {"n": n, "depts": DEPARTMENTS},
        )
        conn.execute(
            text(
                """INSERT INTO sla_clock (case_id, kind, department_code, grade, limit_amount, limit_unit,
                       started_at, due_at)
                   SELECT id, 'handle', department_code, 'normal', 2, 'working_days', created_at, handle_deadline
                   FROM "case" WHERE status = 'in_progress'"""
            )
        )
        conn.execute(  # the history: a stopped clock for every closed case
            text(
                """INSERT INTO sla_clock (case_id, kind, department_code, grade, limit_amount, limit_unit,
                       started_at, due_at, stopped_at, outcome)
                   SELECT id, 'verify', department_code, 'normal', 1, 'working_days', created_at, handle_deadline,
                          created_at + interval '1 day', 'met'
                   FROM "case" WHERE status = 'closed'"""
            )
        )
        conn.execute(text("ANALYZE"))


def _plan(stmt: Any) -> str:
    compiled = stmt.compile(dialect=postgresql.psycopg.dialect(), compile_kwargs={"render_postcompile": True})
    with get_engine().connect() as conn:
        rows = conn.exec_driver_sql("EXPLAIN " + str(compiled), compiled.params).all()
    return "\n".join(r[0] for r in rows)


def test_one_departments_queue_is_read_through_indexes(prod_env: dict[str, str]) -> None:
    _fill(200_000)
    now = utcnow()
    mine = Reader(Reach.DEPARTMENT, department_code="sanitation")
    for f in (
        DeptFilter(),
        DeptFilter(group=StatusGroup.HANDLING),
        DeptFilter(overdue=True),
        DeptFilter(card=Card.ANY, major_code="06"),
    ):
        rows = _plan(department_query(mine, f, now).order_by(*queue_order()).limit(f.limit))
        assert 'Seq Scan on "case"' not in rows and "Seq Scan on case" not in rows, rows
        assert "Index" in rows, rows
        q = department_query(mine, DeptFilter(**{**f.__dict__, "group": None}), now)
        counts = _plan(q.with_only_columns(col(Case.status), func.count()).group_by(col(Case.status)))
        assert 'Seq Scan on "case"' not in counts and "Seq Scan on case" not in counts, counts
    with session_scope() as s:
        ids = [c.id for c in s.exec(department_query(mine, DeptFilter(), now).limit(100)).all()]
        clocks = _plan_of_clocks(ids)
        assert "Seq Scan on sla_clock" not in clocks, clocks
        department_queue(s, mine, DeptFilter(), now)  # warm
        started = time.perf_counter()
        for _ in range(5):
            queue = department_queue(s, mine, DeptFilter(), now)
        per_page = (time.perf_counter() - started) / 5
    with get_engine().connect() as conn:
        open_mine = conn.execute(
            text("""SELECT count(*) FROM "case" WHERE department_code = 'sanitation' AND status <> 'closed'""")
        ).scalar_one()
    assert queue.total == open_mine > 400 and len(queue.items) == 100
    assert all(queue.counts[g] > 50 for g in StatusGroup), queue.counts
    assert {i.group for i in queue.items} <= set(StatusGroup)
    assert per_page < 0.5, f"{per_page * 1000:.0f} ms per department queue with 200,000 cases"
    with session_scope() as s:
        numbers = [i.number for i in queue.items]
        found = s.exec(department_query(mine, DeptFilter(), now).where(col(Case.number).in_(numbers))).all()
        assert {c.department_code for c in found} == {"sanitation"}
        assert running_clocks(s, [c.id for c in found if c.id is not None])


def _plan_of_clocks(ids: list[Any]) -> str:
    from sqlmodel import select

    from routing.models import SlaClock

    stmt = select(SlaClock).where(col(SlaClock.case_id).in_(ids), col(SlaClock.stopped_at).is_(None))
    return _plan(stmt)
