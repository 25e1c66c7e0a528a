"""The escalation ladder on the real PostgreSQL: two sweepers (threads with connections of their own, started
together at a barrier) sweep the same clocks at the same controlled moments, again and again; each step of
each clock exists once, with one case event and one set of notices. And the sweep reads the running clocks
by their partial index however many stopped clocks the history holds."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from sqlalchemy import delete, text
from sqlalchemy.dialects import postgresql
from sqlmodel import select

from cases import jobs
from cases.db import get_engine, session_scope
from cases.jobnames import JobName
from cases.models import CaseEvent
from routing.escalation_sweep import escalate, running_clocks_query
from routing.models import DepartmentContact, DepartmentNotice, DepartmentWebhook, EscalationStep
from tests.escalation_fixtures import RecordingQueue, add_contacts, at, case_row, case_with_clock, ladder_events

pytestmark = pytest.mark.integration

START = at("2026-11-02", "09:00")  # 签收 within 1 working hour: due Monday 10:00
MOMENTS = [
    at("2026-11-02", "09:30"),
    at("2026-11-02", "09:48"),  # warn
    at("2026-11-02", "10:00"),  # urge
    at("2026-11-02", "16:00"),  # yellow
    at("2026-11-03", "16:00"),
    at("2026-11-04", "10:00"),  # red
    at("2026-11-05", "10:00"),
]
CASES = 15
REPEATS = 4  # each moment swept this often by each sweeper


@pytest.fixture
def queue(prod_env: dict[str, str]) -> RecordingQueue:
    q = RecordingQueue()
    jobs.set_queue(q)
    with session_scope() as s:  # the run's truncate leaves these (they hang on the department table)
        s.execute(delete(DepartmentWebhook))
        s.execute(delete(DepartmentContact))
    return q


def test_two_sweepers_at_once_take_each_step_exactly_once(queue: RecordingQueue) -> None:
    with session_scope() as s:
        add_contacts(s)
        made = [case_with_clock(s, START) for _ in range(CASES)]
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []
    taken: list[int] = []

    def sweeper() -> None:
        try:
            for now in MOMENTS:
                for _ in range(REPEATS):
                    barrier.wait(timeout=60)  # both start each sweep together
                    taken.append(escalate(now))
        except BaseException as exc:  # reported below
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=sweeper, name=f"sweeper-{i}") for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert not errors, errors
    assert sum(taken) == CASES * 4  # what both sweepers took adds up to each step once

    with session_scope() as s:
        steps = Counter(s.exec(select(EscalationStep.step)))
        assert steps == Counter({"warn": CASES, "urge": CASES, "yellow": CASES, "red": CASES})
        for case_id, _ in made:
            assert ladder_events(s, case_id) == Counter({"sla_warning": 1, "urge": 1, "escalate": 2})
            case = case_row(s, case_id)
            assert case.overdue and case.supervision == "red"
        cards = Counter(e.data.get("step") for e in s.exec(select(CaseEvent).where(CaseEvent.action == "escalate")))
        assert cards == Counter({"yellow": CASES, "red": CASES})
        notices = s.exec(select(DepartmentNotice)).all()
    assert len(notices) == CASES * 4 * 2  # each step: one SMS, one webhook delivery
    assert Counter(n.event for n in notices) == Counter(
        {"sla_warning": 2 * CASES, "urge": 2 * CASES, "escalate_yellow": 2 * CASES, "escalate_red": 2 * CASES}
    )
    sent = queue.of(JobName.SEND_DEPARTMENT_NOTICE)
    assert sorted(sent) == sorted((n.id,) for n in notices)  # each enqueued once, after its commit


def test_the_sweep_reads_running_clocks_by_their_partial_index(queue: RecordingQueue) -> None:
    with session_scope() as s:
        case_id, _ = case_with_clock(s, START)
    with get_engine().begin() as conn:  # a long history: 100,000 stopped clocks, a handful running
        conn.execute(
            text(
                """INSERT INTO sla_clock (case_id, kind, department_code, grade, limit_amount, limit_unit,
                                          started_at, due_at, stopped_at, outcome)
                   SELECT :case_id, 'handle', 'sanitation', 'normal', 2, 'working_days',
                          now() - (n || ' hours')::interval, now() - (n || ' hours')::interval + interval '2 days',
                          now() - (n || ' hours')::interval + interval '1 day', 'met'
                   FROM generate_series(1, 100000) AS n"""
            ),
            {"case_id": case_id},
        )
        conn.execute(text("ANALYZE sla_clock"))
    stmt = running_clocks_query(at("2026-12-02", "10:00"), (START, 1), 200)
    compiled = stmt.compile(dialect=postgresql.psycopg.dialect(), compile_kwargs={"render_postcompile": True})
    with get_engine().connect() as conn:
        plan = "\n".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + str(compiled), compiled.params).all())
    # Either index reads only the running clocks: the partial one by deadline, or the dashboard's
    # ix_sla_clock_stopped_at on `stopped_at IS NULL` (the planner's pick when they cost the same).
    assert "Seq Scan" not in plan, plan
    assert "ix_sla_clock_running_due" in plan or "Index Cond: (stopped_at IS NULL)" in plan, plan


def test_a_step_notice_is_delivered_retried_and_failed_on_postgresql(
    queue: RecordingQueue, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The notice job's row locks on PostgreSQL: a webhook delivery of a ladder step, retried, then failed,
    then retried by hand and delivered with the same delivery id."""
    from hotline.settings import reset_settings
    from routing import notices
    from tests.escalation_fixtures import SECRET
    from tests.webhook_receiver import WebhookReceiver

    monkeypatch.setenv("HOTLINE_JOB_MAX_ATTEMPTS", "2")
    reset_settings()
    receiver = WebhookReceiver(SECRET).start()
    try:
        with session_scope() as s:
            add_contacts(s, webhook_url=receiver.url)
            case_id, _ = case_with_clock(s, START)
        escalate(at("2026-11-02", "09:50"))  # warn: one SMS, one webhook delivery
        with session_scope() as s:
            hook = s.exec(select(DepartmentNotice).where(DepartmentNotice.channel == "webhook")).one()
        assert hook.id is not None and hook.case_id == case_id and hook.event == "sla_warning"
        receiver.statuses = [500, 500]
        with pytest.raises(notices.NoticeNotSent):
            notices.send_department_notice(hook.id)
        assert notices.send_department_notice(hook.id) == "failed"
        with session_scope() as s:
            assert [n.id for n in notices.problem_notices(s)] == [hook.id]
            notices.retry_notice(s, hook.id, "admin:root")
        assert notices.send_department_notice(hook.id) == "sent"
        assert [d.answered for d in receiver.deliveries] == [500, 500, 200]
        assert all(d.valid for d in receiver.deliveries)
        assert len({d.delivery_id for d in receiver.deliveries}) == 1
        assert receiver.deliveries[-1].json["event"] == "sla_warning"
    finally:
        receiver.stop()
