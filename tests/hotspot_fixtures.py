"""Cases spread over the hotspot test's 59 days (made with the real open_case, then back-dated), for the
hotspot board's, the sweep's and the browser tests."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session

from cases.db import session_scope
from cases.lifecycle import Action
from cases.models import Case, utcnow
from cases.service import apply_action, open_case

HOT_GRID = "421102001001001"  # 东门社区第1网格
HOT_CATEGORY = "06010"  # 暴露垃圾: a surge in the last 3 days
FLAT_GRID = "421102001002002"  # 胜利街: 2 a day, every day
FLAT_CATEGORY = "06010"
SUPERVISOR_PHONE = "+8613700137001"


def _case(s: Session, grid: str, category: str, at: datetime, title: str) -> Case:
    case = open_case(s, actor="system:test", title=title, category_code=category, grid_code=grid)
    apply_action(s, case, Action.REGISTER, "system:test")
    case.created_at = at
    s.add(case)
    return case


def seed_hotspot_city(now: datetime | None = None) -> list[str]:
    """A surge (1 a week for 8 weeks, then 9 in 3 days) in HOT_GRID and a flat pair (2 every day) in
    FLAT_GRID; returns the surge's case numbers in the window."""
    now = now or utcnow()
    surge: list[str] = []
    with session_scope() as s:
        for week in range(8):
            _case(s, HOT_GRID, HOT_CATEGORY, now - timedelta(days=4 + 7 * week), "东门菜市场门口有垃圾")
        for i in range(9):
            c = _case(s, HOT_GRID, HOT_CATEGORY, now - timedelta(hours=2 + 7 * i), f"东门菜市场垃圾堆积第{i + 1}处")
            surge.append(c.number)
        for day in range(59):
            for j in range(2):
                _case(s, FLAT_GRID, FLAT_CATEGORY, now - timedelta(days=day, hours=1 + j * 5), "胜利街菜场垃圾")
    return surge
