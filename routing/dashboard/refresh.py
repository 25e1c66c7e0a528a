"""Keeping the per-day aggregates (`dash_intake_day`, `dash_rate_day`) equal to the facts they summarise.

Which days changed: every change to a case is a case event, so the refresh reads the events after the
last one it looked at (`dash_refresh.last_event_id`), takes the cases they belong to and recomputes every
local day any of those cases has a fact on (its creation, its events — clocks start and stop with a move,
so at an event's time). A day is recomputed whole from the base tables (`routing.dashboard.facts`) and
replaces its rows, so doing it twice is harmless. A long way behind (the first run over a history, or
after an outage) it rebuilds every day instead: cheaper than looking up a million cases' days.

Exactly once across workers: the bookkeeping row is locked for the whole refresh (PostgreSQL `FOR UPDATE
SKIP LOCKED`, so a second worker skips this round instead of waiting; SQLite: a write takes the one writer
lock), and the rows of the days and the new watermark commit together. The watermark only moves past
events older than `GRACE_SECONDS`: an event id is taken at insert but seen at commit, so a slow transaction
can commit a smaller id after a bigger one was read; the recent ones are read again next time.

Not seen by this: a grid moved to another street or community (reference data, no case event). Run
`hotline dashboard refresh --full` after editing the grid layer.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import asdict
from datetime import date, datetime, timedelta

from sqlalchemy import delete, func, insert, update
from sqlmodel import Session, col, select

from cases.db import is_sqlite, session_scope
from cases.models import Case, CaseEvent, utcnow
from routing.dashboard.facts import day_bounds, facts, local_day
from routing.dashboard.models import DashIntakeDay, DashRateDay, DashRefresh

log = logging.getLogger(__name__)

GRACE_SECONDS = 120.0
# More new events than this since the last refresh: rebuild every day rather than look up their cases.
FULL_AFTER_EVENTS = 50_000
_CHUNK = 500


def _lock(session: Session) -> DashRefresh | None:
    """The bookkeeping row, locked for this transaction; None when another worker holds it."""
    if is_sqlite(session):
        session.execute(update(DashRefresh).where(col(DashRefresh.id) == 1).values(id=1))
        row = session.get(DashRefresh, 1, populate_existing=True)
    else:
        query = select(DashRefresh).where(DashRefresh.id == 1).with_for_update(skip_locked=True)
        row = session.exec(query).first()
        if row is None and session.get(DashRefresh, 1) is not None:
            return None  # locked by a refresh in another worker
    if row is None:
        row = DashRefresh(id=1)
        session.add(row)
        session.flush()
    return row


def write_day(session: Session, day: date) -> None:
    """Replace `day`'s aggregate rows by the facts of that local day."""
    start, end = day_bounds(day)
    found = facts(session, start, end)
    session.execute(delete(DashIntakeDay).where(col(DashIntakeDay.day) == day))
    session.execute(delete(DashRateDay).where(col(DashRateDay.day) == day))
    intake = [{"day": day, "dimension": d, "key": k, "cases": n} for (d, k), n in found.intake.items()]
    rates = [{"day": day, "dimension": d, "key": k, **asdict(c)} for (d, k), c in found.rates.items()]
    if intake:
        session.execute(insert(DashIntakeDay), intake)
    if rates:
        session.execute(insert(DashRateDay), rates)


def _chunks(ids: list[int]) -> Iterable[list[int]]:
    for i in range(0, len(ids), _CHUNK):
        yield ids[i : i + _CHUNK]


def days_of_cases(session: Session, case_ids: Iterable[int]) -> set[date]:
    """Every local day the cases have a fact on: their creation and each of their events."""
    days: set[date] = set()
    for chunk in _chunks(sorted(set(case_ids))):
        for (at,) in session.execute(select(col(Case.created_at)).where(col(Case.id).in_(chunk))):
            days.add(local_day(at))
        for (at,) in session.execute(select(col(CaseEvent.at)).where(col(CaseEvent.case_id).in_(chunk))):
            days.add(local_day(at))
    return days


def all_days(session: Session, now: datetime) -> list[date]:
    """Every local day from the first case's to today."""
    first = session.exec(select(func.min(col(Case.created_at)))).first()  # min keeps the UTC column type
    if first is None:
        return []
    day, last = local_day(first), local_day(now)
    return [day + timedelta(days=i) for i in range((last - day).days + 1)]


def refresh(
    session: Session, *, now: datetime | None = None, grace_seconds: float = GRACE_SECONDS, full: bool = False
) -> int | None:
    """Bring the aggregates up to date in the caller's transaction; the number of days recomputed, or None
    when another worker is refreshing. The caller commits."""
    now = now or utcnow()
    state = _lock(session)
    if state is None:
        return None
    after = state.last_event_id
    cutoff = now - timedelta(seconds=grace_seconds)
    newer = col(CaseEvent.id) > after
    pending = session.exec(select(func.count()).select_from(CaseEvent).where(newer)).one()
    full = full or pending > FULL_AFTER_EVENTS
    if full:
        session.execute(delete(DashIntakeDay))
        session.execute(delete(DashRateDay))
        days = all_days(session, now)
    else:
        touched = session.exec(select(col(CaseEvent.case_id)).where(newer).distinct()).all()
        days = sorted(days_of_cases(session, touched))
    for day in days:
        write_day(session, day)
    settled = session.exec(select(func.max(col(CaseEvent.id))).where(newer, col(CaseEvent.at) <= cutoff)).first()
    state.last_event_id = max(after, int(settled or 0))
    state.refreshed_at = now
    state.days_refreshed = len(days)
    session.add(state)
    session.flush()
    return len(days)


def refresh_job() -> int:
    """The periodic job REFRESH_DASHBOARD: one refresh in its own transaction. Returns 0: recomputing days
    is bookkeeping, not items taken up (the sweeper's total counts reports re-enqueued and notices sent);
    the page shows when the aggregates were last refreshed."""
    with session_scope() as s:
        n = refresh(s)
    if n is None:
        log.info("dashboard refresh skipped: another worker is refreshing")
    elif n:
        log.info("dashboard refresh: %s day(s) recomputed", n)
    return 0
