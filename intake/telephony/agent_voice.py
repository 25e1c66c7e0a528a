"""Twilio's webhooks for the calls we place to agents' own phones (`agent_calls.py`), each naming its
AgentCall in the URL (`?ac=`) and signed like every Twilio request (`security.twilio_form`):

- `/answer`  — the agent picked up: 接听下一位 dials the agents' queue, 回访 dials the resident;
- `/dequeue` — the queue's `<Queue url>`, requested on the CALLER's leg just before the bridge;
- `/resident` — 回访: the resident answered (the `<Number>`'s status callback, on the resident's leg);
- `/dial`    — the agent's `<Dial>` ended (DialCallStatus);
- `/status`  — the agent leg's status callback (ringing, answered, not answered, ended).

A retried webhook changes nothing more than the first (each step records once, and forward only) and
gets the same kind of answer. Phone numbers are never logged.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from twilio.twiml.voice_response import VoiceResponse

from cases.db import session_scope
from cases.sanitize import DB_INT_MAX
from intake.telephony import agent_calls
from intake.telephony.models import AgentCall
from intake.telephony.security import twilio_form
from intake.telephony.settings import telephony_settings
from intake.telephony.states import AgentCallPurpose, AgentCallStatus

router = APIRouter(prefix=agent_calls.PREFIX, tags=["telephony"], include_in_schema=False)
XML = "application/xml"
AgentCallId = Annotated[int, Query(alias="ac", ge=1, le=DB_INT_MAX)]
Params = Annotated[dict[str, str], Depends(twilio_form)]

# What the agent hears when their <Dial> ended without a conversation.
_DIAL_ENDED_ZH = {
    (AgentCallPurpose.NEXT_CALLER, AgentCallStatus.NO_ANSWER): "当前没有等待接听的来电。",
    (AgentCallPurpose.CALLBACK, AgentCallStatus.NO_ANSWER): "市民未接听，已记录本次回访。",
    (AgentCallPurpose.CALLBACK, AgentCallStatus.BUSY): "市民电话占线，已记录本次回访。",
    (AgentCallPurpose.CALLBACK, AgentCallStatus.FAILED): "未能接通市民电话，已记录本次回访。",
}


def _twiml(r: VoiceResponse) -> Response:
    return Response(content=str(r), media_type=XML)


def _say(r: VoiceResponse, text: str) -> None:
    s = telephony_settings()
    r.say(text, language=s.twilio_language, voice=s.twilio_voice)


def _gone() -> Response:
    r = VoiceResponse()
    _say(r, "这通电话已失效，再见。")
    r.hangup()
    return _twiml(r)


def _answer_twiml(row: AgentCall) -> VoiceResponse:
    assert row.id is not None
    s = telephony_settings()
    r = VoiceResponse()
    dial_action = agent_calls.webhook_url("/dial", row.id)
    if row.purpose == AgentCallPurpose.NEXT_CALLER.value:
        _say(r, "正在为您接通下一位来电。")
        dial = r.dial(action=dial_action, method="POST", timeout=s.agent_queue_wait_seconds)
        dial.queue(s.twilio_agent_queue, url=agent_calls.webhook_url("/dequeue", row.id), method="POST")
    else:
        _say(r, "正在接通市民，请稍候。")
        dial = r.dial(caller_id=s.twilio_from_number, action=dial_action, method="POST")
        dial.number(
            row.resident_phone,
            status_callback=agent_calls.webhook_url("/resident", row.id),
            status_callback_event="answered",
            status_callback_method="POST",
        )
    return r


@router.post("/answer")
def answer(ac: AgentCallId, params: Params) -> Response:
    """The agent answered their phone: connect them to the caller or the resident."""
    with session_scope() as s:
        row = agent_calls.agent_answered(s, ac, params.get("CallSid", ""))
        if row is None or AgentCallStatus(row.status) not in (AgentCallStatus.ANSWERED, AgentCallStatus.BRIDGED):
            return _gone()
        if row.purpose == AgentCallPurpose.CALLBACK.value and not row.resident_phone:
            return _gone()
        return _twiml(_answer_twiml(row))


@router.post("/dequeue")
def dequeue(ac: AgentCallId, params: Params) -> Response:
    """Twilio hands the longest-waiting caller to the agent; this TwiML plays to the caller first
    (only Play, Say, Pause and Redirect are allowed here)."""
    with session_scope() as s:
        agent_calls.caller_dequeued(
            s,
            ac,
            dequeuing_call_sid=params.get("DequeingCallSid", ""),
            caller_call_sid=params.get("CallSid", ""),
            caller_from=params.get("From"),
        )
    r = VoiceResponse()
    _say(r, "正在为您接通坐席。")
    return _twiml(r)


@router.post("/resident")
def resident(ac: AgentCallId, params: Params) -> Response:
    with session_scope() as s:
        if params.get("CallStatus") == "in-progress":
            agent_calls.resident_answered(s, ac, params.get("ParentCallSid", ""), params.get("CallSid", ""))
    return Response(status_code=204)


@router.post("/dial")
def dial_ended(ac: AgentCallId, params: Params) -> Response:
    with session_scope() as s:
        row = agent_calls.dial_ended(
            s,
            ac,
            params.get("CallSid", ""),
            dial_status=params.get("DialCallStatus", ""),
            dial_call_sid=params.get("DialCallSid"),
            dial_seconds=params.get("DialCallDuration"),
        )
        key = (AgentCallPurpose(row.purpose), AgentCallStatus(row.status)) if row is not None else None
    r = VoiceResponse()
    if key is not None and key[1] not in (AgentCallStatus.COMPLETED, AgentCallStatus.CANCELED):
        _say(r, _DIAL_ENDED_ZH.get(key, "未能接通。"))
    r.hangup()
    return _twiml(r)


@router.post("/status")
def status(ac: AgentCallId, params: Params) -> Response:
    with session_scope() as s:
        agent_calls.agent_leg_status(s, ac, params.get("CallSid", ""), params.get("CallStatus", ""))
    return Response(status_code=204)
