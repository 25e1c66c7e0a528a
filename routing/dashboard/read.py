"""The dashboard's read model: intake for today and the last 7 / 30 / 90 days by each dimension, the 三率
per department and per street over a chosen period, the daily intake for the chart, counts per grid for
the map, and the overdue list. Days before today come from the aggregates (a few thousand rows however
many cases), today is computed live from the base tables (`routing.dashboard.facts`), so today's figures
are never older than the page.

A period of N days is today and the N - 1 local days before it."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import case as sql_case
from sqlalchemy import func
from sqlalchemy import select as wide_select  # sqlmodel's select types at most four columns
from sqlmodel import Session, col, select

from cases.access import Reader, scope_cases
from cases.lifecycle import TERMINAL
from cases.models import Case, Category, Grid, utcnow
from cases.reference import MATTER, reference_names
from routing.dashboard.facts import Facts, Key, day_bounds, facts, local_day
from routing.dashboard.models import DashIntakeDay, DashRateDay, DashRefresh
from routing.dashboard.rates import COUNTER_NAMES, RATES, Counters, total
from routing.models import SlaClock

PERIODS: dict[int, str] = {1: "今日", 7: "近7天", 30: "近30天", 90: "近90天"}
DIMENSION_ZH = {
    "channel": "渠道",
    "group": "问题大类",
    "street": "街道",
    "community": "社区",
    "grid": "网格",
    "department": "承办单位",
}
UNKNOWN_ZH = {
    "channel": "未知渠道",
    "group": "未分类",
    "street": "未定街道",
    "community": "未定社区",
    "grid": "未定网格",
}
OVERDUE_LIMIT = 100


@dataclass(frozen=True)
class Names:
    """Names by dimension and key: category groups (the taxonomy's major names), streets and communities
    (the grid layer), grids and departments (reference names). Channels are named by the page."""

    by_dimension: dict[str, dict[str, str]]

    def name(self, dimension: str, key: str) -> str:
        found = self.by_dimension.get(dimension, {}).get(key)
        if found:
            return found
        if not key:
            return UNKNOWN_ZH.get(dimension, "未定")
        return key


def load_names(session: Session) -> Names:
    groups = {
        code: name
        for code, name in session.exec(
            select(col(Category.major_code), col(Category.major_name)).where(Category.kind == MATTER).distinct()
        )
    }
    streets: dict[str, str] = {}
    communities: dict[str, str] = {}
    for code, street, community in session.exec(select(col(Grid.code), col(Grid.street), col(Grid.community))):
        streets.setdefault(code[:9], street)
        communities.setdefault(code[:12], community)
    ref = reference_names()
    return Names(
        {
            "group": groups,
            "street": streets,
            "community": communities,
            "grid": {code: g.name for code, g in ref.grids.items()},
            "department": {code: d.name for code, d in ref.departments.items()},
        }
    )


@dataclass
class IntakeRow:
    key: str
    name: str
    counts: dict[int, int]  # period (days) → cases


@dataclass
class IntakeTable:
    dimension: str
    title: str
    rows: list[IntakeRow]


@dataclass
class RateRow:
    key: str
    name: str
    counters: Counters

    def rate(self, key: str) -> float | None:
        return next(r for r in RATES if r.key == key).of(self.counters)


@dataclass
class OverdueRow:
    case: Case
    clock: SlaClock
    department_name: str | None
    category_name: str | None


@dataclass
class Dashboard:
    now: datetime
    today: date
    days: int
    intake: list[IntakeTable]
    departments: list[RateRow]
    streets: list[RateRow]
    overall: RateRow
    daily: list[tuple[date, int]]
    grid_counts: dict[str, int]
    refreshed_at: datetime | None
    overdue: list[OverdueRow] = field(default_factory=list)


def today_facts(session: Session, now: datetime) -> Facts:
    start, _ = day_bounds(local_day(now))
    return facts(session, start, now)


def intake_periods(session: Session, today: date, live: Facts) -> dict[Key, dict[int, int]]:
    """(dimension, key) → {period: cases} for every period of PERIODS."""
    longest = max(PERIODS)
    day = col(DashIntakeDay.day)
    sums = [
        func.sum(sql_case((day >= today - timedelta(days=p - 1), col(DashIntakeDay.cases)), else_=0))
        for p in PERIODS
        if p > 1
    ]
    query = (
        wide_select(col(DashIntakeDay.dimension), col(DashIntakeDay.key), *sums)
        .where(day >= today - timedelta(days=longest - 1), day < today)
        .group_by(col(DashIntakeDay.dimension), col(DashIntakeDay.key))
    )
    out: dict[Key, dict[int, int]] = defaultdict(lambda: dict.fromkeys(PERIODS, 0))
    longer = [p for p in PERIODS if p > 1]
    for dimension, key, *counts in session.execute(query):
        row = out[dimension, key]
        for p, n in zip(longer, counts, strict=True):
            row[p] += int(n or 0)
    for k, n in live.intake.items():
        for p in PERIODS:
            out[k][p] += n
    return dict(out)


def rate_period(session: Session, today: date, days: int, live: Facts) -> dict[Key, Counters]:
    """(dimension, key) → counters over the `days`-day period ending today."""
    t = DashRateDay
    sums = [func.sum(getattr(t, name)) for name in COUNTER_NAMES]
    query = (
        wide_select(col(t.dimension), col(t.key), *sums)
        .where(col(t.day) >= today - timedelta(days=days - 1), col(t.day) < today)
        .group_by(col(t.dimension), col(t.key))
    )
    out: dict[Key, Counters] = {}
    for dimension, key, *values in session.execute(query):
        out[dimension, key] = Counters(**{n: int(v or 0) for n, v in zip(COUNTER_NAMES, values, strict=True)})
    for k, c in live.rates.items():
        out.setdefault(k, Counters()).add(c)
    return out


def daily_intake(session: Session, today: date, days: int, live: Facts) -> list[tuple[date, int]]:
    """Cases opened per day over the period, oldest first (days without cases included)."""
    start = today - timedelta(days=days - 1)
    query = (
        select(col(DashIntakeDay.day), func.sum(col(DashIntakeDay.cases)))
        .where(DashIntakeDay.dimension == "channel", col(DashIntakeDay.day) >= start, col(DashIntakeDay.day) < today)
        .group_by(col(DashIntakeDay.day))
    )
    per = {d: int(n or 0) for d, n in session.exec(query)}
    per[today] = sum(n for (dim, _), n in live.intake.items() if dim == "channel")
    return [(start + timedelta(days=i), per.get(start + timedelta(days=i), 0)) for i in range(days)]


def overdue_rows(session: Session, reader: Reader, now: datetime, limit: int = OVERDUE_LIMIT) -> list[OverdueRow]:
    """Open cases whose running clock is past its deadline, the most overdue first (the partial index of
    running clocks by deadline: a few thousand rows however long the history)."""
    query = scope_cases(
        select(Case, SlaClock)
        .join(SlaClock, col(SlaClock.case_id) == col(Case.id))
        .where(
            col(SlaClock.stopped_at).is_(None),
            col(SlaClock.due_at).is_not(None),
            col(SlaClock.due_at) < now,
            col(Case.status).notin_([s.value for s in TERMINAL]),
        )
        .order_by(col(SlaClock.due_at), col(SlaClock.id))
        .limit(limit),
        reader,
    )
    names = reference_names()
    return [
        OverdueRow(c, k, names.department(c.department_code), names.category(c.category_code))
        for c, k in session.exec(query)
    ]


def _rate_rows(per: dict[Key, Counters], dimension: str, names: Names) -> list[RateRow]:
    rows = [RateRow(k, names.name(dimension, k), c) for (d, k), c in per.items() if d == dimension]
    return sorted(rows, key=lambda r: (-r.counters.dispatched, r.key))


def _intake_tables(per: dict[Key, dict[int, int]], names: Names, channel_names: dict[str, str]) -> list[IntakeTable]:
    tables = []
    longest = max(PERIODS)
    for dimension in ("channel", "group", "street", "community", "grid"):
        rows = []
        for (d, k), counts in per.items():
            if d != dimension:
                continue
            name = channel_names.get(k, k or UNKNOWN_ZH["channel"]) if d == "channel" else names.name(d, k)
            rows.append(IntakeRow(k, name, counts))
        rows.sort(key=lambda r: (-r.counts[longest], r.key))
        tables.append(IntakeTable(dimension, DIMENSION_ZH[dimension], rows))
    return tables


def dashboard(
    session: Session,
    reader: Reader,
    days: int = 30,
    *,
    now: datetime | None = None,
    channel_names: dict[str, str] | None = None,
) -> Dashboard:
    """Everything the page shows for a period of `days` (one of PERIODS)."""
    now = now or utcnow()
    days = days if days in PERIODS else 30
    today = local_day(now)
    live = today_facts(session, now)
    names = load_names(session)
    intake = intake_periods(session, today, live)
    rates = rate_period(session, today, days, live)
    departments = _rate_rows(rates, "department", names)
    state = session.get(DashRefresh, 1)
    return Dashboard(
        now=now,
        today=today,
        days=days,
        intake=_intake_tables(intake, names, channel_names or {}),
        departments=departments,
        streets=_rate_rows(rates, "street", names),
        overall=RateRow("", "合计", total(r.counters for r in departments)),
        daily=daily_intake(session, today, days, live),
        grid_counts={k: c[days] for (d, k), c in intake.items() if d == "grid" and k},
        refreshed_at=state.refreshed_at if state is not None else None,
        overdue=overdue_rows(session, reader, now),
    )


def as_dict(c: Counters) -> dict[str, Any]:
    return {n: getattr(c, n) for n in COUNTER_NAMES}


def rate_range(session: Session, first: date, last: date, now: datetime | None = None) -> dict[Key, Counters]:
    """(dimension, key) → counters over the local days first..last (inclusive): stored days before today,
    today live, nothing after now."""
    now = now or utcnow()
    today = local_day(now)
    t = DashRateDay
    sums = [func.sum(getattr(t, name)) for name in COUNTER_NAMES]
    query = (
        wide_select(col(t.dimension), col(t.key), *sums)
        .where(col(t.day) >= first, col(t.day) <= last, col(t.day) < today)
        .group_by(col(t.dimension), col(t.key))
    )
    out: dict[Key, Counters] = {}
    for dimension, key, *values in session.execute(query):
        out[dimension, key] = Counters(**{n: int(v or 0) for n, v in zip(COUNTER_NAMES, values, strict=True)})
    if first <= today <= last:
        for k, c in today_facts(session, now).rates.items():
            out.setdefault(k, Counters()).add(c)
    return out
