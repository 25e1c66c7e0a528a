"""What residents are told, in one place so every channel says it in the same words: the SMS signature
and the deadline sentences. Pure: no clock, no I/O, no settings (callers pass the time zone and now)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from cases.timetext import when_zh

SMS_SIGNATURE = "【12319城市管理热线】"


def finish_by_zh(due: datetime, tz: str | ZoneInfo, now: datetime | None = None) -> str:
    """The deadline sentence's core as texted, "预计12月3日14点30分前办结"."""
    return f"预计{when_zh(due, tz, now)}前办结"


def finish_by_spoken(due: datetime, tz: str | ZoneInfo, now: datetime | None = None) -> str:
    """The deadline sentence as the phone menu says it, "预计在12月3日14点30分前办结。"."""
    return f"预计在{when_zh(due, tz, now)}前办结。"


def handle_by_plain(local_time: str) -> str:
    """The dispatch step's deadline on the track page (`local_time` as the page shows times)."""
    return f"要求在 {local_time} 前处置完毕"
