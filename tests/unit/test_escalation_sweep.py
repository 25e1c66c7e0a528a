"""The escalation sweep on SQLite with a controlled `now`: run again and again (and by two threads at once),
each ladder step of each clock happens exactly once — one escalation_step row, one case event, one set of
notices — and a case that moved on (its clock stopped) or waits (its clock paused) takes no step."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import col, select

from cases import jobs
from cases.db import session_scope
from cases.jobnames import JobName
from cases.models import CaseEvent, utcnow
from hotline.settings import reset_settings
from routing.calendar import working_calendar
from routing.escalation_sweep import ACTOR, apply_due_steps, escalate
from routing.ladder import current_ladder
from routing.models import DepartmentNotice, EscalationStep, SlaClock
from tests.escalation_fixtures import (
    RecordingQueue,
    add_contacts,
    at,
    case_row,
    case_with_clock,
    ladder_events,
    steps_of,
)

# Monday 2 November 2026, 签收 within 1 working hour from 09:00: due 10:00, 80 % at 09:48,
# yellow at +4 working hours (16:00), red at +2 working days (Wednesday 10:00).
START = at("2026-11-02", "09:00")
ROUNDS = [
    (at("2026-11-02", "09:30"), []),
    (at("2026-11-02", "09:48"), ["warn"]),
    (at("2026-11-02", "09:55"), []),
    (at("2026-11-02", "10:00"), ["urge"]),
    (at("2026-11-02", "15:00"), []),
    (at("2026-11-02", "16:00"), ["yellow"]),
    (at("2026-11-03", "12:00"), []),
    (at("2026-11-04", "10:00"), ["red"]),
    (at("2026-11-09", "10:00"), []),
]


@pytest.fixture
def queue(env: Path) -> Iterator[RecordingQueue]:
    q = RecordingQueue()
    jobs.set_queue(q)
    yield q
    jobs.set_queue(None)


def test_each_step_happens_once_however_often_the_sweep_runs(queue: RecordingQueue) -> None:
    with session_scope() as s:
        add_contacts(s)
        case_id, clock_id = case_with_clock(s, START)
    for now, expected in ROUNDS:
        taken = [escalate(now) for _ in range(3)]
        assert taken == [len(expected), 0, 0], now
    with session_scope() as s:
        assert steps_of(s, clock_id) == ["red", "urge", "warn", "yellow"]
        assert ladder_events(s, case_id) == Counter({"sla_warning": 1, "urge": 1, "escalate": 2})
        case = case_row(s, case_id)
        assert case.overdue and case.supervision == "red" and case.status == "dispatched"
        events = s.exec(
            select(CaseEvent).where(CaseEvent.case_id == case_id, CaseEvent.actor == ACTOR).order_by(col(CaseEvent.id))
        ).all()
        assert [e.data["step"] for e in events] == ["warn", "urge", "yellow", "red"]
        assert events[0].reason == "签收时限已用 80%，2026-11-02 10:00 到期"
        assert events[1].reason == "签收时限 2026-11-02 10:00 已到，系统催办"
        assert events[3].reason == "签收时限 2026-11-02 10:00 已过，红牌督办"
        notices = s.exec(select(DepartmentNotice).order_by(col(DepartmentNotice.id))).all()
    # warn → the duty contact and the webhook; urge, yellow, red → the head and the webhook.
    assert [(n.event, n.channel) for n in notices] == [
        ("sla_warning", "sms"),
        ("sla_warning", "webhook"),
        ("urge", "sms"),
        ("urge", "webhook"),
        ("escalate_yellow", "sms"),
        ("escalate_yellow", "webhook"),
        ("escalate_red", "sms"),
        ("escalate_red", "webhook"),
    ]
    assert len({n.key for n in notices}) == 8
    assert "13900139" not in repr([n.payload for n in notices] + [n.target for n in notices])  # ids, no numbers
    assert "签收时限将到" in notices[0].payload["text"] and "【催办】" in notices[2].payload["text"]
    assert sorted(queue.of(JobName.SEND_DEPARTMENT_NOTICE)) == sorted((n.id,) for n in notices)  # each once


def test_two_sweepers_at_once_still_take_each_step_once(queue: RecordingQueue) -> None:
    with session_scope() as s:
        add_contacts(s)
        made = [case_with_clock(s, START) for _ in range(4)]
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def sweeper() -> None:
        try:
            for now, _ in ROUNDS:
                for _ in range(2):
                    barrier.wait(timeout=30)
                    escalate(now)
        except BaseException as exc:  # reported by the test below
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=sweeper) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    with session_scope() as s:
        for case_id, clock_id in made:
            assert steps_of(s, clock_id) == ["red", "urge", "warn", "yellow"]
            assert ladder_events(s, case_id) == Counter({"sla_warning": 1, "urge": 1, "escalate": 2})
        assert len(s.exec(select(DepartmentNotice)).all()) == 4 * 8


def test_a_case_that_moves_on_takes_no_more_steps(queue: RecordingQueue) -> None:
    with session_scope() as s:
        case_id, clock_id = case_with_clock(s, START)
    assert escalate(at("2026-11-02", "09:50")) == 1  # warn
    with session_scope() as s:  # 签收 at 09:55: the sign clock stops (the clocks' observer does this)
        clock = s.get(SlaClock, clock_id)
        assert clock is not None
        clock.stopped_at, clock.outcome = at("2026-11-02", "09:55"), "met"
        s.add(clock)
    assert escalate(at("2026-11-04", "10:00")) == 0
    with session_scope() as s:
        assert steps_of(s, clock_id) == ["warn"]
        assert ladder_events(s, case_id) == Counter({"sla_warning": 1})
        assert not case_row(s, case_id).overdue


def test_a_paused_clock_waits_and_resumes_where_it_was(queue: RecordingQueue) -> None:
    with session_scope() as s:
        case_id, clock_id = case_with_clock(s, START, kind="handle", amount=1, unit="working_days")
        clock = s.get(SlaClock, clock_id)
        assert clock is not None and clock.due_at is not None
        due = clock.due_at
        clock.paused_at, clock.due_at, clock.remaining_seconds = at("2026-11-02", "10:00"), None, 6 * 3600
        s.add(clock)
    assert escalate(at("2026-11-05", "10:00")) == 0  # 补充材料 for days: no warning, no 催办
    with session_scope() as s:
        clock = s.get(SlaClock, clock_id)
        assert clock is not None
        clock.paused_at, clock.due_at = None, due.replace(day=6)  # resumed: the same time left, days later
        s.add(clock)
    assert escalate(at("2026-11-05", "10:00")) == 0
    assert escalate(at("2026-11-06", "10:00")) == 2  # warn and urge once the resumed deadline passed
    with session_scope() as s:
        assert steps_of(s, clock_id) == ["urge", "warn"]
        assert ladder_events(s, case_id) == Counter({"sla_warning": 1, "urge": 1})


def test_a_step_another_sweep_recorded_is_not_acted_on_again(queue: RecordingQueue) -> None:
    """The insert decides: with the step's row already there (another worker's committed sweep), this run
    does nothing for it — no event, no notice."""
    with session_scope() as s:
        add_contacts(s)
        case_id, clock_id = case_with_clock(s, START)
        s.add(EscalationStep(clock_id=clock_id, case_id=case_id, step="warn"))
    with session_scope() as s:
        clock = s.get(SlaClock, clock_id)
        assert clock is not None
        done = apply_due_steps(
            s, case_row(s, case_id), clock, at("2026-11-02", "09:50"), current_ladder(), working_calendar()
        )
        assert done == []
    with session_scope() as s:
        assert ladder_events(s, case_id) == Counter()
        assert s.exec(select(DepartmentNotice)).all() == []


def test_a_step_the_case_status_does_not_allow_is_left_untaken(queue: RecordingQueue) -> None:
    """A clock left running on a closed case (a bug elsewhere) never 催办s it, and the step stays open."""
    with session_scope() as s:
        case_id, clock_id = case_with_clock(s, START)
        case = case_row(s, case_id)
        case.status = "closed"
        s.add(case)
    assert escalate(at("2026-11-04", "10:00")) == 0
    with session_scope() as s:
        assert steps_of(s, clock_id) == []


def test_the_sweep_pages_through_every_due_clock(queue: RecordingQueue, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOTLINE_ESCALATION_BATCH_SIZE", "2")
    reset_settings()
    with session_scope() as s:
        made = [case_with_clock(s, START) for _ in range(5)]
        far = case_with_clock(s, START, kind="handle", amount=400, unit="working_days")  # due a year on
    assert escalate(at("2026-11-02", "10:00")) == 5 * 2  # warn and urge on each of the five
    with session_scope() as s:
        assert all(steps_of(s, clock_id) == ["urge", "warn"] for _, clock_id in made)
        assert steps_of(s, far[1]) == []


def test_the_sweeper_runs_the_ladder(queue: RecordingQueue) -> None:
    from cases.settings import kernel_settings
    from hotline.sweeper import sweep_once
    from hotline.wiring import PERIODIC

    assert JobName.ESCALATE in PERIODIC
    with session_scope() as s:
        _, clock_id = case_with_clock(s, utcnow() - timedelta(days=30))  # long overdue by now
    assert sweep_once(kernel_settings()) >= 4
    with session_scope() as s:
        assert steps_of(s, clock_id) == ["red", "urge", "warn", "yellow"]


def test_the_ladder_is_the_citys_file_reloaded_when_it_changes(
    env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    from routing.escalation import LadderError
    from routing.ladder import load_ladder

    path = tmp_path / "ladder.yaml"
    path.write_text("steps:\n  - {name: early, fraction: 0.5, action: warn, kinds: [sign]}\n", encoding="utf-8")
    monkeypatch.setenv("HOTLINE_ESCALATION_LADDER_PATH", str(path))
    monkeypatch.setenv("HOTLINE_ROUTING_REFRESH_SECONDS", "0.05")
    reset_settings()
    assert [s.name for s in current_ladder().steps] == ["early"]
    path.write_text("steps:\n  - {name: later, fraction: 0.9, action: warn, kinds: [sign]}\n", encoding="utf-8")
    time.sleep(0.1)
    assert [s.name for s in current_ladder().steps] == ["later"]
    path.write_text("steps:\n  - {name: broken, action: warn, kinds: [sign]}\n", encoding="utf-8")
    time.sleep(0.1)
    assert [s.name for s in current_ladder().steps] == ["later"]  # a bad edit is refused, the old ladder kept
    with pytest.raises(LadderError, match=f"{path}: step 1 \\(broken\\): give exactly one trigger"):
        load_ladder(path)
