"""A time range's dashboard counters, computed directly from the cases, their first reports, the SLA clocks
and the case events. Each query is a range of one index (ix_case_created_at, ix_sla_clock_stopped_at,
ix_sla_clock_kind_started, ix_case_event_action_at) grouped to a few hundred rows, in SQL that SQLite and
PostgreSQL both run; the roll-up to streets and communities happens here (a grid's code starts with its
community's, which starts with its street's: the national 15-digit form 6 + 3 + 3 + 3).

The refresh stores these per local day; the dashboard adds today's live. Tests compare the two."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlalchemy import select as wide_select  # sqlmodel's select types at most four columns
from sqlmodel import Session, col, select

from cases.lifecycle import Action
from cases.models import Case, CaseEvent, Report
from cases.settings import kernel_settings
from routing.dashboard.rates import Counters
from routing.models import ClockKind, ClockOutcome, SlaClock

INTAKE_DIMENSIONS = ("channel", "group", "street", "community", "grid")
RATE_DIMENSIONS = ("department", "street")
STREET_DIGITS, COMMUNITY_DIGITS = 9, 12
SATISFIED = frozenset({"satisfied", "basic"})
_EVENT_ACTIONS = [a.value for a in (Action.REOPEN, Action.EXTEND, Action.ESCALATE, Action.NOTE, Action.SURVEY)]

Key = tuple[str, str]  # (dimension, key)


def city_zone() -> ZoneInfo:
    return ZoneInfo(kernel_settings().timezone)


def local_day(at: datetime) -> date:
    return at.astimezone(city_zone()).date()


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The UTC instants the local day starts and ends at (a day is 24 h: the city keeps no summer time,
    but the arithmetic does not rely on it)."""
    zone = city_zone()
    start = datetime.combine(day, time(), zone)
    end = datetime.combine(day + timedelta(days=1), time(), zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def street_of(grid_code: str | None) -> str:
    return (grid_code or "")[:STREET_DIGITS]


def community_of(grid_code: str | None) -> str:
    return (grid_code or "")[:COMMUNITY_DIGITS]


@dataclass
class Facts:
    """Counters of one range: intake per (dimension, key), rate counters per (dimension, key)."""

    intake: dict[Key, int]
    rates: dict[Key, Counters]


def intake_rows(
    session: Session, start: datetime, end: datetime
) -> list[tuple[str | None, str | None, str | None, int]]:
    """(grid, category group, channel of the first report, cases) of the cases opened in [start, end)."""
    first_report = select(func.min(Report.id)).where(col(Report.case_id) == col(Case.id)).correlate(Case)
    group = func.substr(col(Case.category_code), 1, 2)
    query = (
        select(col(Case.grid_code), group, col(Report.channel), func.count())
        .select_from(Case)
        .outerjoin(Report, col(Report.id) == first_report.scalar_subquery())
        .where(col(Case.created_at) >= start, col(Case.created_at) < end)
        .group_by(col(Case.grid_code), group, col(Report.channel))
    )
    return [(g, c, ch, int(n)) for g, c, ch, n in session.exec(query)]


def roll_up_intake(rows: Iterable[tuple[str | None, str | None, str | None, int]]) -> dict[Key, int]:
    """Per (grid, group, channel) counts → per (dimension, key). Pure."""
    out: dict[Key, int] = defaultdict(int)
    for grid, group, channel, n in rows:
        out["channel", channel or ""] += n
        out["group", group or ""] += n
        out["street", street_of(grid)] += n
        out["community", community_of(grid)] += n
        out["grid", grid or ""] += n
    return dict(out)


def _slices(rates: dict[Key, Counters], department: str | None, grid: str | None) -> list[Counters]:
    keys = [("department", department or ""), ("street", street_of(grid))]
    return [rates.setdefault(k, Counters()) for k in keys]


def rate_counters(session: Session, start: datetime, end: datetime) -> dict[Key, Counters]:
    rates: dict[Key, Counters] = {}
    k = SlaClock
    own_step = [ClockOutcome.MET.value, ClockOutcome.LATE.value, ClockOutcome.RETURNED.value]
    stopped = (
        wide_select(col(k.department_code), col(Case.grid_code), col(k.kind), col(k.outcome), func.count())
        .join(Case, col(Case.id) == col(k.case_id))
        .where(col(k.stopped_at) >= start, col(k.stopped_at) < end, col(k.outcome).in_(own_step))
        .group_by(col(k.department_code), col(Case.grid_code), col(k.kind), col(k.outcome))
    )
    for dept, grid, kind, outcome, n in session.execute(stopped):
        for c in _slices(rates, dept, grid):
            if outcome == ClockOutcome.RETURNED.value:
                c.returned += n
            elif kind in (ClockKind.SIGN.value, ClockKind.HANDLE.value):
                field = f"{kind}_{outcome}"
                setattr(c, field, getattr(c, field) + n)
    started = (
        select(col(k.department_code), col(Case.grid_code), func.count())
        .join(Case, col(Case.id) == col(k.case_id))
        .where(k.kind == ClockKind.SIGN.value, col(k.started_at) >= start, col(k.started_at) < end)
        .group_by(col(k.department_code), col(Case.grid_code))
    )
    for dept, grid, n in session.exec(started):
        for c in _slices(rates, dept, grid):
            c.dispatched += n
    data = CaseEvent.__table__.c.data  # type: ignore[attr-defined]
    rating, card = data["rating_code"].as_string(), data["supervision"].as_string()
    events = (
        wide_select(col(CaseEvent.action), col(Case.department_code), col(Case.grid_code), rating, card, func.count())
        .join(Case, col(Case.id) == col(CaseEvent.case_id))
        .where(col(CaseEvent.action).in_(_EVENT_ACTIONS), col(CaseEvent.at) >= start, col(CaseEvent.at) < end)
        .group_by(col(CaseEvent.action), col(Case.department_code), col(Case.grid_code), rating, card)
    )
    for action, dept, grid, rating_code, supervision, n in session.execute(events):
        for c in _slices(rates, dept, grid):
            _count_event(c, action, rating_code, supervision, int(n))
    return {key: c for key, c in rates.items() if not c.is_empty()}


def _count_event(c: Counters, action: str, rating_code: str | None, supervision: str | None, n: int) -> None:
    if action == Action.REOPEN.value:
        c.reopened += n
    elif action == Action.EXTEND.value:
        c.extended += n
    elif action == Action.ESCALATE.value and supervision in ("yellow", "red"):
        setattr(c, supervision, getattr(c, supervision) + n)
    if rating_code:
        c.rated += n
        c.satisfied += n if rating_code in SATISFIED else 0


def facts(session: Session, start: datetime, end: datetime) -> Facts:
    """Every counter of [start, end)."""
    return Facts(roll_up_intake(intake_rows(session, start, end)), rate_counters(session, start, end))
