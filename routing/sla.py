"""Deadlines over a working calendar. Pure functions: no clock reads, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

Unit = Literal["hours", "days", "working_hours", "working_days"]


@dataclass(frozen=True)
class TimeLimit:
    amount: float
    unit: Unit


@dataclass(frozen=True)
class WorkingCalendar:
    tz: ZoneInfo
    weekdays: frozenset[int] = frozenset({1, 2, 3, 4, 5})
    periods: tuple[tuple[time, time], ...] = ((time(8, 30), time(12, 0)), (time(14, 0), time(17, 30)))
    holidays: frozenset[date] = field(default_factory=frozenset)

    def is_working_day(self, d: date) -> bool:
        return d.isoweekday() in self.weekdays and d not in self.holidays

    @property
    def hours_per_day(self) -> float:
        return sum(
            (datetime.combine(date.min, b) - datetime.combine(date.min, a)).total_seconds() / 3600
            for a, b in self.periods
        )


def _add_working_seconds(start: datetime, seconds: float, cal: WorkingCalendar) -> datetime:
    local = start.astimezone(cal.tz)
    remaining = seconds
    day = local.date()
    for _ in range(3700):  # ten years of days: a bound, not a limit anyone reaches
        if cal.is_working_day(day):
            for a, b in cal.periods:
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


def deadline(start: datetime, limit: TimeLimit, cal: WorkingCalendar) -> datetime:
    """When `limit` runs out if the clock starts at `start` (aware datetime). Working units only count
    time inside the calendar's periods; 1 working day = one day's worth of working hours."""
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    if limit.unit == "hours":
        return start + timedelta(hours=limit.amount)
    if limit.unit == "days":
        return start + timedelta(days=limit.amount)
    hours = limit.amount if limit.unit == "working_hours" else limit.amount * cal.hours_per_day
    return _add_working_seconds(start, hours * 3600, cal)


def remaining_fraction(start: datetime, due: datetime, now: datetime) -> float:
    """1.0 at the start, 0.0 at the deadline, negative when overdue (wall-clock; for escalation)."""
    total = (due - start).total_seconds()
    if total <= 0:
        return 0.0
    return (due - now).total_seconds() / total
