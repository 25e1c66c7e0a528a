"""The monthly per-department report (考核表): one row per department with the month's counters and rates,
read from the same aggregates as the dashboard (so the two never disagree)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlmodel import Session

from cases.reference import InvalidInput, reference_names
from routing.dashboard.rates import Counters, total
from routing.dashboard.read import rate_range

_MONTH = re.compile(r"(\d{4})-(\d{2})")


def parse_month(value: str) -> date:
    """ "2026-11" → the month's first day; anything else is refused with a message for a person."""
    m = _MONTH.fullmatch(value.strip())
    if m is None or not 1 <= int(m.group(2)) <= 12 or not 2000 <= int(m.group(1)) <= 2100:
        raise InvalidInput("月份格式应为 YYYY-MM，例如 2026-11")
    return date(int(m.group(1)), int(m.group(2)), 1)


def month_end(first: date) -> date:
    return (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


@dataclass(frozen=True)
class DepartmentMonth:
    code: str
    name: str
    counters: Counters


@dataclass(frozen=True)
class MonthlyReport:
    month: date
    rows: list[DepartmentMonth]
    overall: Counters


def monthly_report(session: Session, month: date, now: datetime | None = None) -> MonthlyReport:
    """Every active department (also one with nothing that month: a row of zeros says so), then any other
    department that had cases, by code."""
    per = rate_range(session, month, month_end(month), now)
    names = reference_names()
    found = {k: c for (d, k), c in per.items() if d == "department"}
    codes = sorted({code for code, d in names.departments.items() if d.active} | set(found))
    rows = [
        DepartmentMonth(code, names.department(code) or (code or "未指定承办单位"), found.get(code, Counters()))
        for code in codes
    ]
    return MonthlyReport(month, rows, total(r.counters for r in rows))
