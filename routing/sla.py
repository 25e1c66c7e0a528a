"""Deadlines over a working calendar. Pure functions: no clock reads, no I/O.

A working calendar is a weekly pattern (working weekdays, working periods of a day) with exceptions by
date: public holidays (no working time), 调休 make-up workdays (a weekend day that works), and days with
periods of their own. `routing.calendar` builds one from the `calendar_day` table; tests build them by hand.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

Unit = Literal["hours", "days", "working_hours", "working_days"]
UNITS: tuple[Unit, ...] = ("hours", "days", "working_hours", "working_days")
WORKING_UNITS = frozenset({"working_hours", "working_days"})

Periods = tuple[tuple[time, time], ...]
DEFAULT_PERIODS: Periods = ((time(8, 30), time(12, 0)), (time(14, 0), time(17, 30)))
_SEARCH_DAYS = 3700  # ten years of days: a bound on a search, not a limit anyone reaches


@dataclass(frozen=True)
class TimeLimit:
    amount: float
    unit: Unit

    @property
    def working(self) -> bool:
        return self.unit in WORKING_UNITS


@dataclass(frozen=True)
class WorkingCalendar:
    tz: ZoneInfo
    weekdays: frozenset[int] = frozenset({1, 2, 3, 4, 5})  # ISO weekdays, Monday = 1
    periods: Periods = DEFAULT_PERIODS
    holidays: frozenset[date] = field(default_factory=frozenset)
    workdays: frozenset[date] = field(default_factory=frozenset)  # 调休: weekend days that work
    day_periods: Mapping[date, Periods] = field(default_factory=dict)  # a day's own working hours

    def is_working_day(self, d: date) -> bool:
        if d in self.holidays:
            return False
        return d in self.workdays or d in self.day_periods or d.isoweekday() in self.weekdays

    def periods_of(self, d: date) -> Periods:
        """The working periods of a day (none on a day off)."""
        if not self.is_working_day(d):
            return ()
        return self.day_periods.get(d, self.periods)

    @property
    def hours_per_day(self) -> float:
        """Working hours of a usual working day: what one working day means in a limit."""
        return _period_seconds(self.periods) / 3600


def _period_seconds(periods: Periods) -> float:
    return sum((datetime.combine(date.min, b) - datetime.combine(date.min, a)).total_seconds() for a, b in periods)


def _aware(at: datetime) -> None:
    if at.tzinfo is None:
        raise ValueError("datetimes must be timezone-aware")


def add_working_seconds(start: datetime, seconds: float, cal: WorkingCalendar) -> datetime:
    """The moment `seconds` of working time after `start`. Zero seconds from outside working time lands
    on `start` itself (a clock with nothing left is due now)."""
    _aware(start)
    if seconds <= 0:
        return start
    local = start.astimezone(cal.tz)
    remaining = seconds
    day = local.date()
    for _ in range(_SEARCH_DAYS):
        for a, b in cal.periods_of(day):
            p_start = datetime.combine(day, a, cal.tz)
            p_end = datetime.combine(day, b, cal.tz)
            begin = max(p_start, local)
            if begin >= p_end:
                continue
            available = (p_end - begin).total_seconds()
            if remaining <= available:
                return begin + timedelta(seconds=remaining)
            remaining -= available
        day += timedelta(days=1)
        local = datetime.combine(day, time(0, 0), cal.tz)
    raise ValueError("calendar has no working time")


def working_seconds_between(start: datetime, end: datetime, cal: WorkingCalendar) -> float:
    """Working time from `start` to `end` in seconds (negative when `end` is before `start`)."""
    _aware(start)
    _aware(end)
    if end < start:
        return -working_seconds_between(end, start, cal)
    a_local, b_local = start.astimezone(cal.tz), end.astimezone(cal.tz)
    total = 0.0
    day = a_local.date()
    while day <= b_local.date():
        for a, b in cal.periods_of(day):
            p_start = max(datetime.combine(day, a, cal.tz), a_local)
            p_end = min(datetime.combine(day, b, cal.tz), b_local)
            if p_end > p_start:
                total += (p_end - p_start).total_seconds()
        day += timedelta(days=1)
    return total


def limit_seconds(limit: TimeLimit, cal: WorkingCalendar) -> float:
    """A limit's length in the seconds its clock counts: working seconds for working units (1 working day
    = one usual day's working hours), natural seconds otherwise."""
    if limit.unit == "hours":
        return limit.amount * 3600
    if limit.unit == "days":
        return limit.amount * 86400
    hours = limit.amount if limit.unit == "working_hours" else limit.amount * cal.hours_per_day
    return hours * 3600


def deadline(start: datetime, limit: TimeLimit, cal: WorkingCalendar) -> datetime:
    """When `limit` runs out if the clock starts at `start` (aware datetime). Working units only count
    time inside the calendar's periods; 1 working day = one day's worth of working hours."""
    _aware(start)
    if not limit.working:
        return start + timedelta(seconds=limit_seconds(limit, cal))
    return add_working_seconds(start, limit_seconds(limit, cal), cal)


def remaining_seconds(now: datetime, due: datetime, working: bool, cal: WorkingCalendar) -> float:
    """What a clock due at `due` has left at `now`, in the seconds it counts (negative when overdue):
    the amount a paused clock keeps, and gets back when it resumes (`resume_deadline`)."""
    if working:
        return working_seconds_between(now, due, cal)
    return (due - now).total_seconds()


def resume_deadline(now: datetime, remaining: float, working: bool, cal: WorkingCalendar) -> datetime:
    """The new deadline of a clock resuming at `now` with `remaining` seconds left (overdue stays overdue
    by the same amount)."""
    if remaining <= 0 or not working:
        return now + timedelta(seconds=remaining)
    return add_working_seconds(now, remaining, cal)


def elapsed_fraction(started: datetime, due: datetime, now: datetime, working: bool, cal: WorkingCalendar) -> float:
    """How much of a limit is used at `now`: 0.0 at the start, 1.0 at the deadline, above 1 when overdue,
    counted in the clock's own seconds (a night does not use a working-hours limit)."""
    total = remaining_seconds(started, due, working, cal)
    if total <= 0:
        return 1.0 if now >= due else 0.0
    return 1.0 - remaining_seconds(now, due, working, cal) / total


def remaining_fraction(start: datetime, due: datetime, now: datetime) -> float:
    """1.0 at the start, 0.0 at the deadline, negative when overdue (wall-clock; for escalation)."""
    total = (due - start).total_seconds()
    if total <= 0:
        return 0.0
    return (due - now).total_seconds() / total
