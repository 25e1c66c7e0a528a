"""The 回访 worklist's queries on PostgreSQL: order by time of 核实, paging through 更多, a try that
reached nobody hides the case until its retry time, and the last one sends it to the texted list."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cases.access import EVERYONE, Reach, Reader
from cases.db import session_scope
from cases.service import get_case_by_number
from routing import callbacks
from routing.callback_actions import record_attempt
from routing.models import CallbackHow, CallbackOutcome
from tests.callback_cases import verified_case
from tests.console_helpers import OTHER_DEPARTMENT

pytestmark = [pytest.mark.integration]

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def test_worklist_on_postgresql(prod_env: dict[str, str]) -> None:
    numbers = [
        verified_case(f"第{i}号", phone=f"+86138001381{i:02d}", at=T0 + timedelta(minutes=10 * (5 - i)))
        for i in range(5)
    ]
    other = verified_case("别的单位", phone="+8613800138199", at=T0 - timedelta(hours=1), department=OTHER_DEPARTMENT)
    oldest_first = [other, *reversed(numbers)]
    with session_scope() as s:
        first, cursor = callbacks.due(s, EVERYONE, limit=4)
        rest, end = callbacks.due(s, EVERYONE, after=cursor, limit=4)
        assert [r.case.number for r in first + rest] == oldest_first and end is None
        mine = Reader(Reach.DEPARTMENT, department_code=OTHER_DEPARTMENT)
        assert [r.case.number for r in callbacks.due(s, mine)[0]] == [other]
        case = get_case_by_number(s, other)
        assert case is not None
        now = datetime.now(UTC)
        attempt = record_attempt(s, case, CallbackOutcome.BUSY, actor="agent:li", how=CallbackHow.DESK_PHONE, now=now)
        assert attempt.next_try_at is not None
        assert other not in [r.case.number for r in callbacks.due(s, EVERYONE, now=now)[0]]
        later = attempt.next_try_at + timedelta(seconds=1)
        assert callbacks.due(s, EVERYONE, now=later)[0][0].case.number == other
        for _ in range(2):
            record_attempt(s, case, CallbackOutcome.NO_ANSWER, actor="agent:li", how=CallbackHow.DESK_PHONE)
        wl = callbacks.worklist(s, EVERYONE, now=later)
        assert [r.case.number for r in wl.texted] == [other] and other not in [r.case.number for r in wl.due]
