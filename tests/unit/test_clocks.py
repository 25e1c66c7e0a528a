"""The SLA clocks through every move, on a controlled clock and the default calendar (08:30–12:00,
14:00–17:30, Monday to Friday: 7 working hours a day), in the last week of November 2026 (no holidays).

Category 06010 (暴露垃圾) has the shipped policy garbage-exposed:06010: 签收 1 working hour, 办结 4 working
hours, 核实 1 working day, photo required; 紧急 halves 签收 and 办结."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session

from cases import providers
from cases.db import session_scope
from cases.lifecycle import Action
from cases.models import Case
from cases.service import apply_action, open_case
from routing import clocks
from routing.calendar import WORKING_CALENDAR
from routing.clocks import clocks_of, recalculate_deadlines, running_clock
from routing.models import SlaClock
from routing.sla import WorkingCalendar
from routing.sla_policies import save_policy

SH = ZoneInfo("Asia/Shanghai")
GRID = "421102001001001"


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment of the week of Monday 23 November 2026, city time."""
    return datetime(2026, 11, day, hour, minute, tzinfo=SH)


@pytest.fixture
def calendar(env: Path) -> Iterator[WorkingCalendar]:
    """The default weekly pattern and no exceptions, whatever the calendar table holds."""
    cal = WorkingCalendar(tz=SH)
    providers.install(WORKING_CALENDAR, providers.Refreshing("test calendar", lambda: cal, lambda: "x", lambda: 0))
    yield cal


def dispatched(s: Session, when: datetime, category: str = "06010", grade: str = "normal") -> Case:
    case = open_case(s, actor="system:pipeline", title="东门菜市场暴露垃圾", category_code=category, grid_code=GRID)
    case.grade = grade
    apply_action(s, case, Action.REGISTER, "system:pipeline", at=when)
    apply_action(s, case, Action.DISPATCH, "system:pipeline", at=when, department_code="sanitation")
    return case


def state(clock: SlaClock | None) -> tuple[str, datetime | None, float | None] | None:
    if clock is None:
        return None
    due = clock.due_at.astimezone(SH) if clock.due_at else None
    return (clock.kind, due, clock.remaining_seconds)


def test_dispatch_starts_the_sign_clock_with_the_policy_and_its_version(calendar: WorkingCalendar) -> None:
    with session_scope() as s:
        case = dispatched(s, at(23, 9))
        clock = running_clock(s, case.id)
        assert state(clock) == ("sign", at(23, 10), None)  # 09:00 + 1 working hour
        assert clock is not None and (clock.policy_code, clock.policy_version) == ("garbage-exposed:06010", 1)
        assert (clock.department_code, clock.grade, clock.limit_amount, clock.limit_unit) == (
            "sanitation",
            "normal",
            1,
            "working_hours",
        )
        assert (case.sla_policy_code, case.sla_policy_version) == ("garbage-exposed:06010", 1)
        assert case.dispatch_deadline == at(23, 10)
        # 办结 at the latest: 4 working hours from the 签收 deadline (10:00–12:00, 14:00–16:00)
        assert case.handle_deadline == at(23, 16) and case.verify_deadline is None


def test_the_whole_round_with_pause_extension_and_a_failed_verification(calendar: WorkingCalendar) -> None:
    from routing.department import (
        decide_extension,
        mark_handled,
        request_extension,
        request_info,
        resume_work,
        sign_for,
    )

    with session_scope() as s:
        case = dispatched(s, at(23, 9))
        sign_for(s, case, "dept:li", department_code="sanitation", now=at(23, 9, 30))
        # 签收 met; 办结 4 working hours from 09:30: 2.5 h to noon, 1.5 h after 14:00 → 15:30
        assert state(running_clock(s, case.id)) == ("handle", at(23, 15, 30), None)
        assert case.handle_deadline == at(23, 15, 30)

        request_info(s, case, "dept:li", "请市民补充具体位置", department_code="sanitation", now=at(23, 10, 30))
        paused = running_clock(s, case.id)
        assert state(paused) == ("handle", None, 3 * 3600)  # 10:30–12:00 and 14:00–15:30 left
        assert paused is not None and paused.pause_reason == "request_info"
        assert case.handle_deadline == at(23, 15, 30)  # the mirror keeps what it had while paused

        resume_work(s, case, "dept:li", "市民已补充", department_code="sanitation", now=at(24, 9))
        assert state(running_clock(s, case.id)) == ("handle", at(24, 12), None)  # 3 h from Tuesday 09:00
        assert case.handle_deadline == at(24, 12)

        request = request_extension(
            s,
            case,
            "dept:li",
            working_days=2,
            reason="需协调供电停电施工",
            department_code="sanitation",
            now=at(24, 9, 30),
        )
        assert state(running_clock(s, case.id)) == ("handle", None, 2.5 * 3600)
        decide_extension(s, request, "supervisor:zhang", approve=True, note="同意", now=at(24, 15))
        # 2.5 h left from 15:00 runs to 17:30 Tuesday; two working days more → Thursday 17:30
        assert state(running_clock(s, case.id)) == ("handle", at(26, 17, 30), None)
        assert (case.handle_deadline, case.extension_count, request.state) == (at(26, 17, 30), 1, "approved")

        mark_handled(
            s,
            case,
            "dept:li",
            note="已清运",
            photos=["dept/2026/11/after.jpg"],
            department_code="sanitation",
            now=at(26, 11),
        )
        # 核实 1 working day from Thursday 11:00: 1 h + 3.5 h Thursday, 2.5 h Friday morning → 11:00
        assert state(running_clock(s, case.id)) == ("verify", at(27, 11), None)
        assert case.verify_deadline == at(27, 11)

        apply_action(s, case, Action.VERIFY_FAIL, "grid:wang", reason="仍有垃圾", at=at(27, 10))
        # one grade up: 紧急 halves 办结 to 2 working hours, from Friday 10:00 → 12:00
        assert (case.status, case.grade) == ("in_progress", "urgent")
        assert state(running_clock(s, case.id)) == ("handle", at(27, 12), None)
        assert (case.handle_deadline, case.verify_deadline) == (at(27, 12), None)

        apply_action(s, case, Action.HANDLE, "dept:li", at=at(27, 14, 30))  # late: due at noon
        apply_action(s, case, Action.VERIFY, "grid:wang", at=at(27, 15))
        assert running_clock(s, case.id) is None
        history = [(c.kind, c.outcome, c.grade) for c in clocks_of(s, case.id)]
        assert history == [
            ("sign", "met", "normal"),
            ("handle", "met", "normal"),
            ("verify", "met", "normal"),
            ("handle", "late", "urgent"),
            ("verify", "met", "urgent"),
        ]


def test_a_refused_extension_resumes_with_the_time_left(calendar: WorkingCalendar) -> None:
    from routing.department import decide_extension, request_extension, sign_for

    with session_scope() as s:
        case = dispatched(s, at(23, 9))
        sign_for(s, case, "dept:sanitation", now=at(23, 9))
        request = request_extension(s, case, "dept:sanitation", working_days=1, reason="材料未到", now=at(23, 10))
        assert state(running_clock(s, case.id)) == ("handle", None, 3 * 3600)  # 10:00–12:00 and 14:00–15:00
        decide_extension(s, request, "supervisor:zhang", approve=False, note="时限内可完成", now=at(23, 16))
        assert state(running_clock(s, case.id)) == ("handle", at(24, 10), None)  # 1.5 h Monday, 1.5 h Tuesday
        assert (case.extension_count, request.state, request.decision_note) == (0, "refused", "时限内可完成")


def test_pauses_stack_and_the_clock_waits_for_both(calendar: WorkingCalendar) -> None:
    with session_scope() as s:
        case = dispatched(s, at(23, 9))
        apply_action(s, case, Action.ACCEPT, "dept:sanitation", at=at(23, 9))
        apply_action(s, case, Action.REQUEST_INFO, "dept:sanitation", reason="位置", at=at(23, 10))
        apply_action(s, case, Action.REQUEST_EXTENSION, "dept:sanitation", reason="延期", at=at(23, 11))
        clock = running_clock(s, case.id)
        assert clock is not None and clock.pause_reason == "request_extension,request_info"
        assert clock.remaining_seconds == 3 * 3600  # counted from the first pause
        apply_action(s, case, Action.RESUME, "dept:sanitation", reason="已补充", at=at(24, 9))
        assert state(running_clock(s, case.id)) == ("handle", None, 3 * 3600)  # still waits for the decision
        apply_action(s, case, Action.REFUSE_EXTENSION, "supervisor:zhang", reason="不同意", at=at(24, 10))
        assert state(running_clock(s, case.id)) == ("handle", at(24, 15), None)  # 10:00–12:00, 14:00–15:00
        apply_action(s, case, Action.RESUME, "dept:sanitation", reason="再来一次", at=at(24, 11))
        assert state(running_clock(s, case.id)) == ("handle", at(24, 15), None)  # not paused for it: no change


def test_sign_for_late_and_return_and_reopen_and_the_terminal_moves(calendar: WorkingCalendar) -> None:
    with session_scope() as s:
        late = dispatched(s, at(23, 9))
        apply_action(s, late, Action.ACCEPT, "dept:sanitation", at=at(23, 10, 30))
        assert clocks_of(s, late.id)[0].outcome == "late"

        back = dispatched(s, at(23, 9))
        apply_action(s, back, Action.RETURN, "dept:sanitation", reason="非本单位", at=at(23, 9, 30))
        assert [(c.kind, c.outcome) for c in clocks_of(s, back.id)] == [("sign", "returned")]
        assert (back.return_count, back.dispatch_deadline, back.handle_deadline) == (1, None, None)
        apply_action(s, back, Action.DISPATCH, "agent:li", at=at(23, 10), department_code="municipal")
        assert state(running_clock(s, back.id)) == ("sign", at(23, 11), None)
        assert running_clock(s, back.id).department_code == "municipal"  # type: ignore[union-attr]

        merged = dispatched(s, at(23, 9))
        apply_action(s, merged, Action.ACCEPT, "dept:sanitation", at=at(23, 9))
        apply_action(s, merged, Action.HANDLE, "dept:sanitation", at=at(23, 10))
        apply_action(s, merged, Action.REOPEN, "agent:li", reason="市民说没修好", at=at(23, 11))
        assert [(c.kind, c.outcome) for c in clocks_of(s, merged.id)][-1] == ("verify", "cancelled")
        assert (merged.reopen_count, merged.verify_deadline, merged.status) == (1, None, "reopened")

        rejected = dispatched(s, at(23, 9))
        apply_action(s, rejected, Action.RETURN, "dept:sanitation", reason="不属实", at=at(23, 9, 10))
        apply_action(s, rejected, Action.REJECT, "agent:li", reason="不属实", at=at(23, 9, 20))
        assert [(c.kind, c.outcome) for c in clocks_of(s, rejected.id)] == [("sign", "returned")]
        assert running_clock(s, rejected.id) is None and not rejected.overdue


def test_an_agents_direct_extension_adds_working_days_to_the_running_clock(calendar: WorkingCalendar) -> None:
    from routing.review import extend_case

    with session_scope() as s:
        case = dispatched(s, at(23, 9))
        apply_action(s, case, Action.ACCEPT, "dept:sanitation", at=at(23, 9))
        before = case.handle_deadline
        assert before == at(23, 15)
        extend_case(s, case, "agent:li", working_days=1, reason="需协调")
        # counted from the current deadline (it has not passed: the test's now is real time, later), or now
        clock = running_clock(s, case.id)
        assert clock is not None and clock.due_at is not None and clock.due_at == case.handle_deadline
        assert case.extension_count == 1 and case.handle_deadline > before


def test_a_policy_edit_never_moves_a_running_clock_a_recalculation_does(calendar: WorkingCalendar) -> None:
    with session_scope() as s:
        case = dispatched(s, at(23, 9))
        save_policy(
            s, "garbage-exposed:06010", editor="supervisor:zhang", note="新标准", sign_amount=2, handle_amount=6
        )
        assert state(running_clock(s, case.id)) == ("sign", at(23, 10), None)
        apply_action(s, case, Action.ACCEPT, "dept:sanitation", at=at(23, 9, 30))
        # the round keeps version 1: 4 working hours, not 6
        clock = running_clock(s, case.id)
        assert state(clock) == ("handle", at(23, 15, 30), None)
        assert clock is not None and clock.policy_version == 1

        with pytest.raises(clocks.ClockError, match="只有班长"):
            recalculate_deadlines(s, case, "agent:li", "按新标准")
        recalculate_deadlines(s, case, "supervisor:zhang", "按新标准重新计算", now=at(23, 10))
        # 6 working hours from 09:30: 2.5 h to noon, 3.5 h after 14:00 → 17:30
        assert state(running_clock(s, case.id)) == ("handle", at(23, 17, 30), None)
        assert (case.handle_deadline, case.sla_policy_version) == (at(23, 17, 30), 2)
        assert running_clock(s, case.id).policy_version == 2  # type: ignore[union-attr]
        from cases.service import timeline

        last = [e for e in timeline(s, case) if e.action == "sla_recalculated"][-1]
        assert (last.action, last.actor, last.data["policy_version"]) == ("sla_recalculated", "supervisor:zhang", 2)


def test_a_recalculation_keeps_the_time_a_pause_added(calendar: WorkingCalendar) -> None:
    with session_scope() as s:
        case = dispatched(s, at(23, 9))
        apply_action(s, case, Action.ACCEPT, "dept:sanitation", at=at(23, 9))
        apply_action(s, case, Action.REQUEST_INFO, "dept:sanitation", reason="位置", at=at(23, 10))
        apply_action(s, case, Action.RESUME, "dept:sanitation", reason="已补充", at=at(23, 14))  # paused 2 working h
        assert state(running_clock(s, case.id)) == ("handle", at(23, 17), None)
        save_policy(s, "garbage-exposed:06010", editor="supervisor:zhang", note="新标准", handle_amount=5)
        recalculate_deadlines(s, case, "supervisor:zhang", "按新标准", now=at(23, 15))
        # 5 working hours from 09:00 is 16:00, plus the 2 working hours paused → Tuesday 09:00
        assert state(running_clock(s, case.id)) == ("handle", at(24, 9), None)
        apply_action(s, case, Action.HANDLE, "dept:sanitation", at=at(23, 16))
        apply_action(s, case, Action.VERIFY, "grid:wang", at=at(23, 16))
        with pytest.raises(clocks.ClockError, match="没有正在计时"):
            recalculate_deadlines(s, case, "supervisor:zhang", "再算一次")
