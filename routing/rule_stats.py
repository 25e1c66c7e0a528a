"""How often each rule decided, per day, and how often a shadow rule would have: the editor's counts.

Hits are decision records naming the rule (`ix_routing_decision_rule_at`), shadow hits the
`routing_shadow_hit` rows (`ix_routing_shadow_hit_rule_at`); one grouped query each over the keys asked for.
Days are the city's: each record falls in the local day it was made on, bucketed in SQL by a CASE over
the days' UTC starts (the same SQL on SQLite and PostgreSQL, right across a change of UTC offset)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, func
from sqlalchemy import select as wide_select
from sqlmodel import Session, col

from routing.dashboard.facts import day_bounds, local_day
from routing.models import DecisionRecord, ShadowHit

MAX_DAYS = 366


@dataclass(frozen=True)
class RuleStats:
    key: str
    hits_by_day: list[int]  # oldest→newest, `days` entries, days in the city's zone
    total: int
    shadow: int


def day_starts(days: int, now: datetime) -> tuple[list[datetime], datetime]:
    """The UTC starts of the `days` local days ending with today, oldest first, and the end of today."""
    today = local_day(now)
    starts = [day_bounds(today - timedelta(days=n))[0] for n in range(days - 1, -1, -1)]
    return starts, day_bounds(today)[1]


def rule_stats(session: Session, keys: Sequence[str], days: int, now: datetime) -> dict[str, RuleStats]:
    """Every key asked for (zeros for one that never matched), over the last `days` local days."""
    if not 1 <= days <= MAX_DAYS:
        raise ValueError(f"days must be 1–{MAX_DAYS}, not {days}")
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    starts, end = day_starts(days, now)
    at = col(DecisionRecord.at)
    bucket = case(*[(at >= start, i) for i, start in reversed(list(enumerate(starts)))], else_=0).label("day")
    hits = session.execute(
        wide_select(col(DecisionRecord.rule_key), bucket, func.count())
        .where(col(DecisionRecord.rule_key).in_(wanted), at >= starts[0], at < end)
        .group_by(col(DecisionRecord.rule_key), bucket)
    ).all()
    shadow_at = col(ShadowHit.at)
    shadows = session.execute(
        wide_select(col(ShadowHit.rule_key), func.count())
        .where(col(ShadowHit.rule_key).in_(wanted), shadow_at >= starts[0], shadow_at < end)
        .group_by(col(ShadowHit.rule_key))
    ).all()
    by_day = {key: [0] * days for key in wanted}
    for key, day, n in hits:
        by_day[key][int(day)] += int(n)
    shadow_counts = {str(key): int(n) for key, n in shadows}
    return {
        key: RuleStats(key=key, hits_by_day=counts, total=sum(counts), shadow=shadow_counts.get(key, 0))
        for key, counts in by_day.items()
    }
