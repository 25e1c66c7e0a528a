"""Deadlines across National Day 2026 and its make-up Saturday (10 October), in working hours and working
days, on the calendar a fresh database holds (the shipped 2026 data) with the usual working periods
08:30–12:00 and 14:00–17:30: 7 working hours a working day. Each expected value is worked out by hand in
its comment."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from cases.db import session_scope
from routing.calendar import load_calendar
from routing.calendar_admin import clear_day, set_day
from routing.sla import TimeLimit, WorkingCalendar, deadline, remaining_seconds, resume_deadline

SH = ZoneInfo("Asia/Shanghai")


def at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=SH)


@pytest.fixture
def cal(env: Path) -> WorkingCalendar:
    with session_scope() as s:
        return load_calendar(s)


@pytest.mark.parametrize(
    ("start", "limit", "due"),
    [
        # Wed 30 Sep 16:00: 1.5 h left that day (to 17:30); 1–7 Oct are 国庆节; Thu 8 Oct 08:30 + 2.5 h = 11:00.
        (at(9, 30, 16), TimeLimit(4, "working_hours"), at(10, 8, 11)),
        # 1 working day = 7 h: 1.5 h on 30 Sep, 3.5 h on the morning of 8 Oct, 14:00 + 2 h = 16:00.
        (at(9, 30, 16), TimeLimit(1, "working_days"), at(10, 8, 16)),
        # 3 working days = 21 h: 1.5 h on 30 Sep (19.5 left), 7 h on Thu 8 Oct (12.5), 7 h on Fri 9 Oct (5.5),
        # Sat 10 Oct works (调休上班): 3.5 h in the morning (2 left), 14:00 + 2 h = 16:00 on the Saturday.
        (at(9, 30, 16), TimeLimit(3, "working_days"), at(10, 10, 16)),
        # 4 working days = 28 h: 1.5 + 7 + 7 + 7 = 22.5 h to Sat 10 Oct 17:30, Sun 11 Oct off; Mon 12 Oct:
        # 3.5 h in the morning (2 left), 14:00 + 2 h = 16:00.
        (at(9, 30, 16), TimeLimit(4, "working_days"), at(10, 12, 16)),
        # Fri 9 Oct 17:00: 0.5 h that day, the other 0.5 h on Saturday the 10th from 08:30: 09:00.
        (at(10, 9, 17), TimeLimit(1, "working_hours"), at(10, 10, 9)),
        # Started inside the holiday (Sat 3 Oct 10:00): nothing counts until Thu 8 Oct 08:30; + 2 h = 10:30.
        (at(10, 3, 10), TimeLimit(2, "working_hours"), at(10, 8, 10, 30)),
        # Sat 19 Sep is off, Sun 20 Sep works (国庆节调休上班): 08:30 + 1 h = 09:30 on the Sunday.
        (at(9, 19, 10), TimeLimit(1, "working_hours"), at(9, 20, 9, 30)),
        # Thu 24 Sep 17:00: 0.5 h; 25–27 Sep 中秋节 (Fri–Sun); Mon 28 Sep 08:30 + 1.5 h = 10:00.
        (at(9, 24, 17), TimeLimit(2, "working_hours"), at(9, 28, 10)),
        # Natural hours ignore the calendar: 24 h after 30 Sep 16:00 is 1 Oct 16:00, National Day or not.
        (at(9, 30, 16), TimeLimit(24, "hours"), at(10, 1, 16)),
    ],
)
def test_deadlines_across_national_day_2026(
    cal: WorkingCalendar, start: datetime, limit: TimeLimit, due: datetime
) -> None:
    assert deadline(start, limit, cal) == due


def test_a_paused_clock_resumes_after_the_holiday_with_what_it_had_left(cal: WorkingCalendar) -> None:
    # Due Thu 8 Oct 11:00 (the first case above); paused Wed 30 Sep 17:00 with 0.5 h + 2.5 h = 3 h left;
    # resumed Fri 9 Oct 16:00: 1.5 h that day (to 17:30), then Saturday the 10th 08:30 + 1.5 h = 10:00.
    left = remaining_seconds(at(9, 30, 17), at(10, 8, 11), True, cal)
    assert left == 3 * 3600
    assert resume_deadline(at(10, 9, 16), left, True, cal) == at(10, 10, 10)


def test_a_city_edit_moves_the_next_deadline(env: Path) -> None:
    """The city cancels the make-up Saturday (it becomes a plain Saturday): 3 working days from
    30 Sep 16:00 no longer end on Sat 10 Oct 16:00 but on Mon 12 Oct: 19.5 h left after 30 Sep, 7 h on
    8 Oct (12.5), 7 h on 9 Oct (5.5), the weekend off, 3.5 h on the morning of 12 Oct, 14:00 + 2 h = 16:00.
    Then a half day on Thu 8 Oct (08:30–12:00 only) moves it on by the afternoon it loses."""
    limit = TimeLimit(3, "working_days")
    with session_scope() as s:
        clear_day(s, date(2026, 10, 10), editor="supervisor:wang", note="本市取消调休上班")
        cal = load_calendar(s)
    assert deadline(at(9, 30, 16), limit, cal) == at(10, 12, 16)
    with session_scope() as s:
        set_day(
            s,
            date(2026, 10, 8),
            kind="workday",
            name="半天",
            periods=[["08:30", "12:00"]],
            editor="supervisor:wang",
            note="试行",
        )
        cal = load_calendar(s)
    # 19.5 h after 30 Sep; 8 Oct gives 3.5 (16 left); 9 Oct 7 (9 left); 12 Oct 7 (2 left); 13 Oct 08:30 + 2 h.
    assert deadline(at(9, 30, 16), limit, cal) == at(10, 13, 10, 30)
