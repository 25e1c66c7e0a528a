"""Random sequences of lifecycle moves (every action, whoever would make it, at random moments) never leave
a case's clocks in an impossible state: at most one clock runs, and one runs exactly while a department holds
the case (签收 while dispatched, 办结 in progress, 核实 after 反馈); a paused clock has no deadline and says why;
a running clock's deadline is the case's mirror of its kind; a finished case has no running clock and is not
overdue; the counters count their moves; and a move the lifecycle refuses changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import Session

from cases import providers
from cases.db import session_scope
from cases.lifecycle import TERMINAL, Action, CaseStatus, IllegalTransition, allowed_actions
from cases.models import Case
from cases.service import apply_action, open_case, timeline
from routing.calendar import WORKING_CALENDAR
from routing.clocks import MIRROR, clocks_of, pause_reasons
from routing.models import ClockKind
from routing.sla import WorkingCalendar

SH = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 11, 23, 9, 0, tzinfo=SH)
HOLDS = {
    CaseStatus.DISPATCHED.value: ClockKind.SIGN.value,
    CaseStatus.IN_PROGRESS.value: ClockKind.HANDLE.value,
    CaseStatus.HANDLED.value: ClockKind.VERIFY.value,
}


@pytest.fixture
def db(env: Path) -> Iterator[None]:
    cal = WorkingCalendar(tz=SH)
    providers.install(WORKING_CALENDAR, providers.Refreshing("test calendar", lambda: cal, lambda: "x", lambda: 0))
    yield


def _state(s: Session, case: Case) -> tuple[object, ...]:
    s.flush()
    clocks = [
        (c.id, c.due_at, c.paused_at, c.pause_reason, c.remaining_seconds, c.stopped_at) for c in clocks_of(s, case.id)
    ]
    columns = (case.status, case.grade, case.dispatch_deadline, case.handle_deadline, case.verify_deadline)
    counters = (case.return_count, case.reopen_count, case.extension_count, case.overdue)
    return (columns, counters, clocks, len(timeline(s, case)))


def _check(s: Session, case: Case) -> None:
    running = [c for c in clocks_of(s, case.id) if c.stopped_at is None]
    assert len(running) <= 1, running
    expected = HOLDS.get(case.status)
    assert [c.kind for c in running] == ([expected] if expected else []), (case.status, running)
    if CaseStatus(case.status) in TERMINAL:
        assert not case.overdue
    for clock in running:
        paused = bool(pause_reasons(clock))
        assert (clock.due_at is None) == paused == (clock.paused_at is not None), clock
        assert not paused or case.status in (CaseStatus.DISPATCHED.value, CaseStatus.IN_PROGRESS.value)
        if not paused:
            assert getattr(case, MIRROR[ClockKind(clock.kind)]) == clock.due_at
        assert clock.department_code == case.department_code
    moves = [e.action for e in timeline(s, case)]
    assert case.return_count == moves.count(Action.RETURN.value)
    assert case.reopen_count == moves.count(Action.REOPEN.value)
    assert case.extension_count == moves.count(Action.EXTEND.value)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), steps=st.integers(1, 30))
def test_random_moves_never_leave_the_clocks_in_an_impossible_state(db: None, data: st.DataObject, steps: int) -> None:
    """Most moves are drawn from those the status allows (so the walk gets everywhere), some from all."""
    with session_scope() as s:
        case = open_case(s, actor="system:pipeline", title="随机", category_code="06010", grid_code="421102001001001")
        at = START
        apply_action(s, case, Action.REGISTER, "system:pipeline", at=at)
        apply_action(s, case, Action.DISPATCH, "system:pipeline", at=at, department_code="sanitation")
        _check(s, case)
        for _ in range(steps):
            allowed = allowed_actions(case.status)
            pool = data.draw(st.sampled_from([allowed, list(Action)] if allowed else [list(Action)]))
            action = data.draw(st.sampled_from(pool))
            at += timedelta(minutes=data.draw(st.integers(0, 600)))
            days = data.draw(st.integers(0, 3))
            before = _state(s, case)
            extra = {"department_code": "municipal"} if action in (Action.DISPATCH, Action.RULE) else {}
            try:
                apply_action(s, case, action, "agent:li", reason="随机", at=at, data={"working_days": days}, **extra)
            except IllegalTransition:
                assert _state(s, case) == before, action
            _check(s, case)
        s.rollback()
