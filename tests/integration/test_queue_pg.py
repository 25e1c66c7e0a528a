"""The agents' queue on PostgreSQL: racing claims give one winner, and with many cases the queue's
queries run on their indexes (EXPLAIN), not on the size of the case table."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.dialects import postgresql

from agent_ui.workbench import claims
from cases.db import get_engine, session_scope
from cases.models import utcnow
from intake.telephony.followups import SMS_FOLLOWUPS, followups_query
from routing.work_queue import QueueFilter, _case_order, failed_query, held_query, work_queue
from tests.console_helpers import make_user

pytestmark = pytest.mark.integration


def _race(item: str, users: list[Any], now: Any) -> list[int]:
    won: list[int] = []
    barrier = threading.Barrier(len(users))

    def go(user: Any) -> None:
        barrier.wait()
        with session_scope() as s:
            won.append(claims.claim(s, item, user, now).user_id)

    threads = [threading.Thread(target=go, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return won


def test_racing_claims_give_one_winner_on_postgresql(prod_env: dict[str, str]) -> None:
    users = [make_user(f"pg{i}", "agent") for i in range(8)]
    now = utcnow()
    won = _race("case:1", users, now)
    assert len(won) == 8 and len(set(won)) == 1
    # Once it lapsed, everyone races again for it: again exactly one takes it over.
    later = now + timedelta(hours=2)
    again = _race("case:1", users, later)
    assert len(set(again)) == 1
    with session_scope() as s:
        assert claims.live_claims(s, ["case:1"], later)["case:1"].user_id == again[0]


def _fill(n: int) -> None:
    with get_engine().begin() as conn:
        conn.execute(text('TRUNCATE report, case_event, "case", case_counter, sms_message RESTART IDENTITY CASCADE'))
        conn.execute(
            text(
                """INSERT INTO "case" (number, title, category_code, category_confidence, grid_code, grade, status,
                       needs_review, created_at, updated_at)
                   SELECT 'T-' || g, '垃圾满溢', '06010', 0.3 + (g % 7) / 10.0, '421102001001001', 'normal',
                          CASE WHEN g % 100 = 0 THEN 'registered' ELSE 'dispatched' END, g % 100 = 0,
                          now() - g * interval '1 minute', now()
                   FROM generate_series(1, :n) g"""
            ),
            {"n": n},
        )
        conn.execute(
            text(
                """INSERT INTO report (channel, external_id, received_at, raw, text, attachments, hints, case_id,
                       processing_status, attempts)
                   SELECT CASE WHEN id % 3 = 0 THEN 'camera' ELSE 'web' END, 'e' || id, created_at, '{}', '垃圾',
                          '[]', '{}', id, 'done', 0 FROM "case" """
            )
        )
        conn.execute(
            text(
                """INSERT INTO case_event (case_id, at, actor, action, data)
                   SELECT id, created_at, 'system:pipeline', 'open', '{}' FROM "case" """
            )
        )
        conn.execute(
            text(
                """INSERT INTO sms_message (message_sid, phone, body, media, kind, report_id, reply, received_at)
                   SELECT 'SM' || id, NULL, '补充说明', '[]', CASE WHEN id % 10 = 0 THEN 'append' ELSE 'report' END,
                          id, '', received_at + interval '1 minute'
                   FROM report WHERE id % 5 = 0"""
            )
        )
        conn.execute(text("ANALYZE"))


def _plan(stmt: Any) -> str:
    compiled = stmt.compile(dialect=postgresql.psycopg.dialect(), compile_kwargs={"render_postcompile": True})
    with get_engine().connect() as conn:
        rows = conn.exec_driver_sql("EXPLAIN " + str(compiled), compiled.params).all()
    return "\n".join(r[0] for r in rows)


def test_the_queue_queries_use_their_indexes(prod_env: dict[str, str]) -> None:
    _fill(200_000)
    now = utcnow()
    f = QueueFilter()
    held = _plan(held_query(f, now).order_by(*_case_order(f.sort)).limit(100))
    assert "ix_case_held_created" in held, held
    failed = _plan(failed_query(f, now).limit(100))
    assert "ix_report_without_case" in failed, failed
    sms = _plan(followups_query(case_clauses=[], since=now - timedelta(days=14), after=None, before=None).limit(100))
    assert "Seq Scan on sms_message" not in sms, sms
    with session_scope() as s:
        work_queue(s, f, now, SMS_FOLLOWUPS)  # warm
        started = time.perf_counter()
        for _ in range(5):
            queue = work_queue(s, QueueFilter(channel="camera"), now, SMS_FOLLOWUPS)
        per_page = (time.perf_counter() - started) / 5
    assert len(queue.items) == 100 and all(i.channel == "camera" for i in queue.items)
    assert per_page < 0.5, f"{per_page * 1000:.0f} ms per queue read with 200,000 cases"
