"""Each rule's hits per day and its shadow would-have-matched count, for the editor's list (the figures
are `routing.rule_stats`'s), with the sparkline drawn here as SVG (no script, presentation attributes only:
the pages' CSP has no inline styles)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from markupsafe import Markup, escape
from sqlmodel import Session

from routing.rule_stats import RuleStats, rule_stats

DAYS = 7


def rule_hits(session: Session, keys: Sequence[str], now: datetime) -> dict[str, RuleStats]:
    """key → RuleStats (hits_by_day oldest first, total, shadow) over the last DAYS days."""
    return rule_stats(session, list(keys), DAYS, now)


def sparkline(counts: Sequence[int], width: int = 84, height: int = 20) -> Markup:
    """A small line of the daily hits, its peak marked, each day's figure in the title."""
    if not counts:
        return Markup("")
    peak = max(max(counts), 1)
    step = width / max(len(counts) - 1, 1)

    def y(n: int) -> float:
        return round(height - 2 - (height - 4) * n / peak, 1)

    points = " ".join(f"{round(i * step, 1)},{y(n)}" for i, n in enumerate(counts))
    label = f"近 {len(counts)} 天每日命中：" + "、".join(str(n) for n in counts)
    return Markup(
        f'<svg class="spark" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg"><title>{escape(label)}</title>'
        f'<polyline points="{points}" fill="none" stroke="#3182bd" stroke-width="1.5"/></svg>'
    )
