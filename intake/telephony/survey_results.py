"""Read model: what the automated 回访 did for some cases — the survey call (`start_survey_call`) and the
SMS rating link (`queue_survey_link`) — from their outbound_message rows, for the callback worklist.
The resident's answer itself, when they gave one, is a rating event on the case."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from intake.telephony.models import OutboundMessage
from intake.telephony.states import OutboundStatus

SURVEY_PURPOSES = ("survey", "survey_link")


@dataclass(frozen=True)
class AutoSurvey:
    purpose: str  # survey (the call) | survey_link (the SMS)
    text: str  # what happened, for an agent
    at: datetime | None


def _call_text(om: OutboundMessage) -> str:
    if om.status == OutboundStatus.DEFERRED.value:
        return "自动语音回访：等待拨打"
    if om.status in (OutboundStatus.QUEUED.value, OutboundStatus.PENDING.value):
        return "自动语音回访：拨打中"
    if om.status in (OutboundStatus.FAILED.value, OutboundStatus.SKIPPED.value):
        return "自动语音回访：未能拨出"
    if om.last_error:  # "call no-answer", "call busy" … from the status callback
        return "自动语音回访：市民未接听" if "no-answer" in om.last_error else "自动语音回访：未接通"
    return "自动语音回访：已拨打"


def _link_text(om: OutboundMessage) -> str:
    if om.status in (OutboundStatus.SENT.value, OutboundStatus.DELIVERED.value):
        return "已发送短信评价链接"
    if om.status == OutboundStatus.OPTED_OUT.value:
        return "短信评价链接未发送（市民已退订）"
    if om.status in (OutboundStatus.FAILED.value, OutboundStatus.SKIPPED.value):
        return "短信评价链接发送失败"
    return "短信评价链接待发送"


def auto_surveys(session: Session, case_ids: list[int]) -> dict[int, list[AutoSurvey]]:
    """Per case, its survey call and SMS link, oldest first (the case_id index; a page of cases)."""
    found: dict[int, list[AutoSurvey]] = {}
    if not case_ids:
        return found
    stmt = (
        select(OutboundMessage)
        .where(col(OutboundMessage.case_id).in_(case_ids), col(OutboundMessage.purpose).in_(SURVEY_PURPOSES))
        .order_by(col(OutboundMessage.id))
    )
    for om in session.exec(stmt):
        assert om.case_id is not None
        text = _call_text(om) if om.purpose == "survey" else _link_text(om)
        found.setdefault(om.case_id, []).append(AutoSurvey(om.purpose, text, om.sent_at or om.created_at))
    return found
