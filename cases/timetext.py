"""Deadlines as residents read and hear them ("12月3日14点30分"). Pure: no clock, no I/O, no settings."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo


def when_zh(at: datetime, tz: str | ZoneInfo, now: datetime | None = None) -> str:
    """`at` in city-local time as 月日 and 点(分): 14:00 → "14点", 14:30 → "14点30分" (seconds are
    dropped, so the time said is never later than the real one). The year is said only when it is not
    the year of `now` (a deadline across New Year)."""
    if at.tzinfo is None:
        raise ValueError("at must be timezone-aware")
    zone = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
    local = at.astimezone(zone)
    year = ""
    if now is not None and now.astimezone(zone).year != local.year:
        year = f"{local.year}年"
    minute = f"{local.minute}分" if local.minute else ""
    return f"{year}{local.month}月{local.day}日{local.hour}点{minute}"
