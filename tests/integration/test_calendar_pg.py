"""The working calendar on PostgreSQL: the shipped years are in a freshly prepared database, an import
again changes nothing, and two supervisors saving the same new day at once end with one day and a
Chinese refusal for the second, never a 500. (Days of 2031 are used: the database is shared by the run.)"""

from __future__ import annotations

import threading
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from cases.db import session_scope
from routing.calendar import load_calendar
from routing.calendar_admin import SHIPPED_DIR, CalendarError, clear_day, import_calendar, set_day
from routing.models import CalendarChange, CalendarDay
from routing.sla import TimeLimit, deadline

pytestmark = [pytest.mark.integration]
SH = ZoneInfo("Asia/Shanghai")


def test_shipped_calendar_and_a_deadline_across_national_day(prod_env: dict[str, str]) -> None:
    with session_scope() as s:
        result = import_calendar(s, SHIPPED_DIR / "2026.yaml", editor="it", note="again")
        assert (result.added, result.changed, result.removed) == (0, 0, 0)
        cal = load_calendar(s)
    assert deadline(datetime(2026, 9, 30, 16, tzinfo=SH), TimeLimit(3, "working_days"), cal) == datetime(
        2026, 10, 10, 16, tzinfo=SH
    )


def test_two_supervisors_save_the_same_new_day_at_once(prod_env: dict[str, str]) -> None:
    day = date(2031, 5, 6)
    first_flushed, first_may_commit = threading.Event(), threading.Event()
    outcome: dict[str, object] = {}

    def first() -> None:
        with session_scope() as s:
            set_day(s, day, kind="holiday", name="防汛停工", editor="supervisor:wang", note="防汛")
            first_flushed.set()
            first_may_commit.wait(10)

    def second() -> None:
        first_flushed.wait(10)
        try:
            with session_scope() as s:
                set_day(s, day, kind="workday", name="加班", editor="supervisor:li", note="抢修")
            outcome["second"] = "saved"
        except CalendarError as exc:
            outcome["second"] = str(exc)

    a, b = threading.Thread(target=first), threading.Thread(target=second)
    a.start()
    b.start()
    first_flushed.wait(10)
    threading.Timer(0.5, first_may_commit.set).start()  # the second insert waits on the first's row meanwhile
    a.join(20)
    b.join(20)
    assert outcome["second"] == "这一天刚刚被其他人修改，请刷新页面后重试"
    with session_scope() as s:
        row = s.get(CalendarDay, day)
        assert row is not None and (row.name, row.editor) == ("防汛停工", "supervisor:wang")
        changes = list(s.exec(select(CalendarChange).where(CalendarChange.day == day)))
        assert [c.editor for c in changes] == ["supervisor:wang"]
        clear_day(s, day, editor="it", note="clean up")
