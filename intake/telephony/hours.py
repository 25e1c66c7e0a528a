"""Daily time windows in city time ("08:30-17:30", "21:00-08:00" across midnight)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from cases.models import utcnow
from cases.settings import kernel_settings
from intake.telephony.settings import telephony_settings


def _parse(window: str) -> tuple[time, time]:
    start, _, end = window.partition("-")
    h1, m1 = (int(x) for x in start.strip().split(":"))
    h2, m2 = (int(x) for x in end.strip().split(":"))
    return time(h1, m1), (time(23, 59, 59, 999999) if (h2, m2) == (24, 0) else time(h2, m2))


def in_window(window: str, now: datetime | None = None) -> bool:
    if not window.strip():
        return False
    local = (now or utcnow()).astimezone(ZoneInfo(kernel_settings().timezone)).time()
    start, end = _parse(window)
    if start <= end:
        return start <= local < end or (end == time(23, 59, 59, 999999) and local >= start)
    return local >= start or local < end


def window_end(window: str, now: datetime | None = None) -> datetime:
    """When the window containing `now` closes (UTC) — the earliest moment a deferred notice may go."""
    tz = ZoneInfo(kernel_settings().timezone)
    local = (now or utcnow()).astimezone(tz)
    _, end = _parse(window)
    candidate = local.replace(hour=end.hour, minute=end.minute, second=0, microsecond=0)
    if candidate <= local:
        candidate += timedelta(days=1)
    return candidate.astimezone(ZoneInfo("UTC"))


def agents_on_duty(now: datetime | None = None) -> bool:
    return in_window(telephony_settings().agent_hours, now)


def quiet_now(now: datetime | None = None) -> bool:
    return in_window(telephony_settings().quiet_hours, now)
