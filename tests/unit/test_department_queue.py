"""The department's queue (routing.department_queue): the department in the query, the tabs and their
counts, the filters, nearest deadline first, and deadline colours from the running clock in its own unit
(green, amber past 80 %, red overdue, paused)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session

from cases.access import EVERYONE, Reach, Reader
from cases.db import session_scope
from cases.models import Case, utcnow
from cases.service import open_case
from routing.department_queue import (
    Card,
    DeptFilter,
    Due,
    StatusGroup,
    clock_due,
    department_queue,
)
from routing.models import SlaClock
from routing.sla import WorkingCalendar
from tests.console_helpers import DEPARTMENT, GRID, OTHER_DEPARTMENT

TZ = ZoneInfo("Asia/Shanghai")
CAL = WorkingCalendar(tz=TZ)
MINE = Reader(Reach.DEPARTMENT, department_code=DEPARTMENT)


def _clock(started: datetime, due: datetime | None, unit: str = "hours", **kw: Any) -> SlaClock:
    return SlaClock(case_id=1, kind="handle", limit_amount=1, limit_unit=unit, started_at=started, due_at=due, **kw)


def test_colours_follow_the_share_of_the_limit_used() -> None:
    start = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # Monday 09:00 in the city
    due = start + timedelta(hours=10)
    assert clock_due(_clock(start, due), start + timedelta(hours=2), CAL) == (Due.OK, pytest.approx(0.2))
    colour, used = clock_due(_clock(start, due), start + timedelta(hours=8, minutes=30), CAL)
    assert colour == Due.WARN and used == pytest.approx(0.85)
    assert clock_due(_clock(start, due), start + timedelta(hours=8), CAL)[0] == Due.WARN  # exactly 80 %
    assert clock_due(_clock(start, due), due, CAL)[0] == Due.BAD
    assert clock_due(_clock(start, due), due + timedelta(hours=5), CAL) == (Due.BAD, pytest.approx(1.5))
    paused = _clock(start, None, paused_at=start, pause_reason="request_info", remaining_seconds=3600)
    assert clock_due(paused, start + timedelta(hours=1), CAL) == (Due.PAUSED, None)


def test_a_working_hours_clock_is_not_used_up_by_the_night() -> None:
    # Monday 16:30 city time, 2 working hours: due Tuesday 09:30. At Tuesday 08:00 one of two is used.
    start = datetime(2026, 3, 2, 16, 30, tzinfo=TZ)
    due = datetime(2026, 3, 3, 9, 30, tzinfo=TZ)
    night = datetime(2026, 3, 3, 8, 0, tzinfo=TZ)
    colour, used = clock_due(_clock(start, due, unit="working_hours"), night, CAL)
    assert (colour, used) == (Due.OK, pytest.approx(0.5))
    # Counted in natural hours the same moment is 15.5 of 17 hours: amber. The unit decides.
    assert clock_due(_clock(start, due, unit="hours"), night, CAL)[0] == Due.WARN


def _case(
    s: Session,
    title: str,
    status: str,
    *,
    department: str = DEPARTMENT,
    category: str = "06010",
    clock: tuple[timedelta, timedelta] | None = None,
    **fields: Any,
) -> Case:
    """A case of `department` in `status`; `clock`: (started ago, due in) of its running clock."""
    case = open_case(s, actor="system:test", title=title, category_code=category, grid_code=GRID)
    case.status, case.department_code = status, department
    for key, value in fields.items():
        setattr(case, key, value)
    s.add(case)
    s.flush()
    if clock is not None:
        ago, due_in = clock
        now = utcnow()
        kind = {"dispatched": "sign", "in_progress": "handle", "handled": "verify"}[status]
        mirror = {"sign": "dispatch_deadline", "handle": "handle_deadline", "verify": "verify_deadline"}[kind]
        setattr(case, mirror, now + due_in)
        assert case.id is not None
        s.add(
            SlaClock(
                case_id=case.id,
                kind=kind,
                department_code=department,
                limit_amount=1,
                limit_unit="hours",
                started_at=now - ago,
                due_at=now + due_in,
            )
        )
        s.flush()
    return case


def _world(s: Session) -> dict[str, Case]:
    h = timedelta(hours=1)
    return {
        "sign": _case(s, "待签收的垃圾满溢", "dispatched", clock=(h, 9 * h)),
        "warn": _case(s, "快到期的", "in_progress", clock=(9 * h, h)),
        "late": _case(s, "超时的", "in_progress", clock=(12 * h, -2 * h), supervision="yellow"),
        "verify": _case(s, "待核实的", "handled", clock=(h, 20 * h)),
        "returned": _case(s, "退回的", "returned", return_count=1),
        "lamp": _case(s, "路灯不亮", "in_progress", category="01010", clock=(h, 30 * h), supervision="red"),
        "closed": _case(s, "早已结案", "closed"),
        "theirs": _case(s, "别的单位的", "in_progress", department=OTHER_DEPARTMENT, clock=(h, h)),
    }


def _numbers(queue: Any) -> list[str]:
    return [i.number for i in queue.items]


def test_the_department_sees_only_its_open_cases_nearest_deadline_first(env: Any) -> None:
    with session_scope() as s:
        w = _world(s)
        q = department_queue(s, MINE, DeptFilter(), utcnow(), CAL)
    n = {k: c.number for k, c in w.items()}
    assert _numbers(q) == [n["late"], n["warn"], n["sign"], n["verify"], n["lamp"], n["returned"]]
    items = {i.number: i for i in q.items}
    assert items[n["late"]].due == Due.BAD and items[n["late"]].overdue
    assert items[n["warn"]].due == Due.WARN and items[n["sign"]].due == Due.OK
    assert items[n["returned"]].due == Due.NONE and items[n["returned"]].clock is None
    assert items[n["lamp"]].supervision == "red"
    g = StatusGroup
    assert q.counts == {g.TO_SIGN: 1, g.HANDLING: 3, g.TO_VERIFY: 1, g.RETURNED: 1}
    assert n["theirs"] not in items and n["closed"] not in items


def test_tabs_and_filters_narrow_in_the_query_and_counts_follow_them(env: Any) -> None:
    with session_scope() as s:
        w = _world(s)
        now = utcnow()
        handling = department_queue(s, MINE, DeptFilter(group=StatusGroup.HANDLING), now, CAL)
        overdue = department_queue(s, MINE, DeptFilter(overdue=True), now, CAL)
        cards = department_queue(s, MINE, DeptFilter(card=Card.ANY), now, CAL)
        red = department_queue(s, MINE, DeptFilter(card=Card.RED), now, CAL)
        lamps = department_queue(s, MINE, DeptFilter(major_code="01"), now, CAL)
        nobody = department_queue(s, Reader(Reach.DEPARTMENT), DeptFilter(), now, CAL)
        everyone = department_queue(s, EVERYONE, DeptFilter(), now, CAL)
    n = {k: c.number for k, c in w.items()}
    assert set(_numbers(handling)) == {n["warn"], n["late"], n["lamp"]}
    assert handling.counts[StatusGroup.TO_SIGN] == 1  # the other tabs' counts stay visible
    assert _numbers(overdue) == [n["late"]] and overdue.total == 1
    assert set(_numbers(cards)) == {n["late"], n["lamp"]} and _numbers(red) == [n["lamp"]]
    assert _numbers(lamps) == [n["lamp"]] and lamps.counts[StatusGroup.HANDLING] == 1
    assert nobody.items == [] and nobody.total == 0  # a department account without a department sees nothing
    assert n["theirs"] in _numbers(everyone)


def test_a_paused_clock_is_shown_paused_with_what_it_has_left(env: Any) -> None:
    with session_scope() as s:
        case = _case(s, "等市民补充照片", "in_progress")
        assert case.id is not None
        s.add(
            SlaClock(
                case_id=case.id,
                kind="handle",
                limit_amount=2,
                limit_unit="working_days",
                started_at=utcnow() - timedelta(hours=3),
                paused_at=utcnow(),
                pause_reason="request_extension,request_info",
                remaining_seconds=5400,
            )
        )
        s.flush()
        item = department_queue(s, MINE, DeptFilter(), utcnow(), CAL).items[0]
    assert item.due == Due.PAUSED and item.clock is not None and item.clock.paused
    assert item.clock.pause_reasons == {"request_extension", "request_info"}
    assert item.clock.working and item.deadline is None


def test_a_working_hours_clock_says_what_working_time_is_left_at_night() -> None:
    """At 04:34 a 4-working-hour clock started that night is due at 14:30 (3.5 h in the morning, 0.5 h after
    lunch); the page says 剩 4 个工作小时, not the 10 wall-clock hours."""
    from agent_ui.department.wording import clock_zh
    from routing.department_queue import clock_state

    sh = ZoneInfo("Asia/Shanghai")
    cal = WorkingCalendar(tz=sh)
    night = datetime(2026, 12, 3, 4, 34, tzinfo=sh)  # a Thursday
    clock = SlaClock(
        case_id=1,
        kind="handle",
        limit_amount=4,
        limit_unit="working_hours",
        started_at=night,
        due_at=datetime(2026, 12, 3, 14, 30, tzinfo=sh),
    )
    assert clock_zh(clock_state(clock, night, cal), night) == "办结时限 剩 4 个工作小时"
    noon = datetime(2026, 12, 3, 13, 0, tzinfo=sh)  # the lunch break uses none of it: 0.5 h left after it
    assert clock_zh(clock_state(clock, noon, cal), noon) == "办结时限 剩 30 分钟工作时间"
    late = datetime(2026, 12, 3, 15, 30, tzinfo=sh)
    assert clock_zh(clock_state(clock, late, cal), late) == "办结时限 已超时 1 小时"
    natural = SlaClock(
        case_id=1,
        kind="sign",
        limit_amount=24,
        limit_unit="hours",
        started_at=night,
        due_at=night + timedelta(hours=24),
    )
    assert clock_zh(clock_state(natural, night, cal), night) == "签收时限 剩 1 天"
