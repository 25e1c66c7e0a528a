"""How the department portal words clocks and deadlines. Pure functions (no database, no clock of their
own): the page's read models give them values, tests give them values."""

from __future__ import annotations

from datetime import datetime

from routing.department_queue import CLOCK_LABELS_ZH, ClockState, Due
from routing.models import ClockKind

PAUSE_REASONS_ZH = {"request_info": "等待市民补充材料", "request_extension": "延期申请待审批"}
DUE_ZH = {Due.OK: "正常", Due.WARN: "即将超时", Due.BAD: "已超时", Due.PAUSED: "已暂停", Due.NONE: "无时限"}
UNITS_ZH = {"working_hours": "个工作小时", "working_days": "个工作日", "hours": "小时", "days": "天"}


def span_zh(seconds: float) -> str:
    """A wall-clock span as people say it: 12 分钟, 3 小时, 2 天 5 小时."""
    minutes = int(abs(seconds) // 60)
    if minutes < 60:
        return f"{max(minutes, 1)} 分钟"
    hours = minutes // 60
    if hours < 24:
        rest = minutes % 60
        return f"{hours} 小时" + (f" {rest} 分钟" if rest and hours < 3 else "")
    days, rest_h = divmod(hours, 24)
    return f"{days} 天" + (f" {rest_h} 小时" if rest_h else "")


def working_span_zh(seconds: float) -> str:
    """Working time left on a paused clock: 5.5 个工作小时, 40 分钟 (工作时间)."""
    if seconds < 3600:
        return f"{max(int(seconds // 60), 1)} 分钟工作时间"
    hours = round(seconds / 3600, 1)
    return f"{hours:g} 个工作小时"


def left_zh(deadline: datetime | None, now: datetime) -> str:
    """剩 3 小时 / 已超时 2 天 (wall clock, to the deadline)."""
    if deadline is None:
        return "—"
    left = (deadline - now).total_seconds()
    return f"已超时 {span_zh(left)}" if left <= 0 else f"剩 {span_zh(left)}"


def limit_zh(amount: float, unit: str) -> str:
    """3 个工作日, 4 个工作小时, 24 小时."""
    return f"{amount:g} {UNITS_ZH.get(unit, unit)}"


def clock_zh(clock: ClockState | None, now: datetime) -> str:
    """One line for the running clock: 办结时限 剩 5 个工作小时 / 签收时限 已暂停（等待市民补充材料），剩 3 个工作小时
    (natural-time limits and overdue clocks in wall-clock time: 剩 5 小时, 已超时 2 天)."""
    if clock is None:
        return "当前无计时"
    label = CLOCK_LABELS_ZH.get(ClockKind(clock.kind), "时限")
    if clock.paused:
        why = "、".join(PAUSE_REASONS_ZH.get(r, r) for r in sorted(clock.pause_reasons)) or "暂停中"
        rest = clock.remaining_seconds or 0.0
        left = working_span_zh(rest) if clock.working else span_zh(rest)
        return f"{label} 已暂停（{why}），剩 {left}"
    if clock.working and clock.remaining_seconds is not None and clock.remaining_seconds > 0:
        # A working-hours limit is left in working time: at night 4 working hours are still 4, not 13.
        return f"{label} 剩 {working_span_zh(clock.remaining_seconds)}"
    return f"{label} {left_zh(clock.due_at, now)}"


def used_percent(clock: ClockState | None) -> int | None:
    """The share of the limit used, 0–100 (capped), for the bar under the deadline."""
    if clock is None or clock.used is None:
        return None
    return max(0, min(100, round(clock.used * 100)))
