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


# The replies an agent may text a reporter from the console: key → (what the agent picks, what is sent).
# `{number}` is the case number. Short on purpose: one SMS segment with the signature.
SMS_REPLIES: dict[str, tuple[str, str]] = {
    "received": ("已受理", "您反映的问题已受理，工单号{number}，我们会尽快安排处理。"),
    "need_location": (
        "需补充位置信息",
        "关于工单{number}，请回复短信补充具体位置（路名、门牌号或附近标志性建筑），以便尽快处理。",
    ),
    "need_photo": ("需补充照片", "关于工单{number}，如方便请回复彩信发送现场照片，以便尽快处理。"),
    "dispatched": ("已派遣", "您的工单{number}已派遣至承办单位处理，请耐心等待。"),
    "done_rate": ("已办结请评价", "您的工单{number}已办结，请回复“满意”“基本满意”或“不满意”进行评价，感谢支持。"),
}


def sms_reply(key: str, number: str) -> str:
    """The SMS text of reply template `key` for case `number`, signature first. KeyError for an unknown key."""
    return SMS_SIGNATURE + SMS_REPLIES[key][1].format(number=number)
