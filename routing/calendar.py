"""The working calendar a running process counts deadlines with: the weekly pattern from settings and the
exceptions (holidays, 调休 make-up workdays, days with their own hours) from the `calendar_day` table,
rebuilt when the table changes (the one refresh policy, `cases.providers.Refreshing`)."""

from __future__ import annotations

import hashlib
from datetime import time
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, select

from cases import providers
from cases.db import session_scope
from cases.settings import kernel_settings
from routing.models import CalendarDay, DayKind
from routing.settings import routing_settings
from routing.sla import Periods, WorkingCalendar


def parse_periods(raw: list[list[str]] | list[tuple[str, str]]) -> Periods:
    """[["08:30", "12:00"], …] → ordered, non-overlapping periods (ValueError otherwise)."""
    periods = tuple((time.fromisoformat(a), time.fromisoformat(b)) for a, b in raw)
    for (a, b), nxt in zip(periods, (*periods[1:], None), strict=True):
        if not a < b:
            raise ValueError(f"a working period must end after it starts ({a:%H:%M}–{b:%H:%M})")
        if nxt is not None and nxt[0] < b:
            raise ValueError(f"working periods overlap or are out of order ({b:%H:%M} > {nxt[0]:%H:%M})")
    return periods


def calendar_from_days(days: list[CalendarDay], tz: str) -> WorkingCalendar:
    """A working calendar of the settings' weekly pattern and these exceptions (pure apart from settings)."""
    s = routing_settings()
    return WorkingCalendar(
        tz=ZoneInfo(tz),
        weekdays=frozenset(s.working_weekdays),
        periods=parse_periods(s.working_periods),
        holidays=frozenset(d.day for d in days if d.kind == DayKind.HOLIDAY.value),
        workdays=frozenset(d.day for d in days if d.kind == DayKind.WORKDAY.value),
        day_periods={d.day: parse_periods(d.periods) for d in days if d.kind == DayKind.WORKDAY.value and d.periods},
    )


def load_calendar(session: Session) -> WorkingCalendar:
    days = list(session.exec(select(CalendarDay)))
    return calendar_from_days(days, kernel_settings().timezone)


def _build() -> WorkingCalendar:
    with session_scope() as session:
        return load_calendar(session)


def calendar_digest(session: Session) -> str:
    count, newest = session.exec(select(func.count(), func.max(CalendarDay.updated_at))).one()
    s = routing_settings()
    parts = [str(count), str(newest), kernel_settings().timezone, repr(s.working_weekdays), repr(s.working_periods)]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _digest() -> str | None:
    try:
        with session_scope() as session:
            return calendar_digest(session)
    except SQLAlchemyError:
        return None  # the database is away for a moment: keep the calendar in use


WORKING_CALENDAR = providers.Key(
    "working calendar",
    lambda: providers.Refreshing(
        "working calendar", _build, _digest, lambda: routing_settings().routing_refresh_seconds
    ),
)


def working_calendar() -> WorkingCalendar:
    """The calendar deadlines are counted on in this process (refreshed within the routing refresh period)."""
    return providers.get(WORKING_CALENDAR).get()
