"""Calls to an agent's own phone. 接听下一位 bridges the longest-waiting caller of the agents' queue
(`<Dial><Queue>`); 回访 bridges the resident of a case (`<Dial><Number>`).

The console calls the two use cases (they store an `AgentCall` and flush; the outermost caller commits)
and reads the rows for its screen pop. The REST call is the job `RING_AGENT(agent_call_id)`, enqueued
after commit; Twilio's webhooks (`agent_voice.py`) then move the row along with the functions below.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from cases.db import session_scope
from cases.jobnames import JobName
from cases.jobs import enqueue_after_commit
from cases.lifecycle import Action
from cases.logcontext import job_ids
from cases.models import Case, utcnow
from cases.phone import InvalidPhone, normalize_phone
from cases.queries import reporter_phones
from cases.reference import actor_id
from cases.service import record_event
from intake.settings import intake_settings
from intake.telephony import rest
from intake.telephony.models import AgentCall, CallSession
from intake.telephony.settings import telephony_settings
from intake.telephony.states import (
    AGENT_CALL_ACTIVE,
    AGENT_CALL_ORDER,
    TWILIO_FINAL_STATUS,
    AgentCallPurpose,
    AgentCallStatus,
)

log = logging.getLogger(__name__)

PREFIX = "/twilio/agent"  # the webhooks of agent_voice.py
# Agent-leg status callbacks we ask for; "completed" carries the final CallStatus (no-answer, busy …).
STATUS_EVENTS = ["ringing", "answered", "completed"]


class AgentCallRefused(Exception):
    """Why no call can be placed to the agent, in words for the agent (shown as is in the console)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# --- use cases (the console) ----------------------------------------------------------------------


def ring_agent_for_next_caller(
    session: Session, *, agent_user_id: int, agent_phone: str | None, actor: str | None = None
) -> AgentCall:
    """接听下一位: ring the agent's phone; when they answer, Twilio bridges the longest-waiting caller of
    HOTLINE_TWILIO_AGENT_QUEUE. Refused (AgentCallRefused) when the agent has no usable phone, Twilio
    is not configured, their phone is already being rung, or Twilio says nobody is waiting."""
    phone = _ready_to_ring(session, agent_user_id, agent_phone)
    if rest.queue_size(telephony_settings().twilio_agent_queue) == 0:
        raise AgentCallRefused("当前没有等待接听的来电")
    return _store(session, agent_user_id, actor, AgentCallPurpose.NEXT_CALLER, phone)


def ring_agent_for_callback(
    session: Session,
    *,
    agent_user_id: int,
    agent_phone: str | None,
    case_id: int,
    resident_phone: str | None,
    actor: str | None = None,
) -> AgentCall:
    """回访 click-to-call: ring the agent's phone; when they answer, Twilio dials the resident from the
    hotline's number. The resident's phone must be one the case was reported from. How the dial ended
    (`dial_outcome`) is written on the case's timeline as a note by the agent."""
    phone = _ready_to_ring(session, agent_user_id, agent_phone)
    if session.get(Case, case_id) is None:
        raise AgentCallRefused("工单不存在")
    try:
        resident = normalize_phone(resident_phone)
    except InvalidPhone:
        resident = None
    if resident is None:
        raise AgentCallRefused("该工单没有可拨打的市民电话，无法回访")
    if resident not in reporter_phones(session, case_id):
        raise AgentCallRefused("该号码不是这个工单反映人的电话，不能从这里拨打")
    return _store(session, agent_user_id, actor, AgentCallPurpose.CALLBACK, phone, case_id=case_id, resident=resident)


def _ready_to_ring(session: Session, agent_user_id: int, agent_phone: str | None) -> str:
    try:
        phone = normalize_phone(agent_phone)
    except InvalidPhone:
        raise AgentCallRefused("您账号登记的电话号码无效，请联系管理员修改") from None
    if phone is None:
        raise AgentCallRefused("您的账号没有登记电话号码，无法呼叫您，请联系管理员")
    if rest.credentials_missing():
        raise AgentCallRefused("电话系统未配置，暂时无法外呼")
    if _being_rung(session, agent_user_id):
        raise AgentCallRefused("正在呼叫您的电话，请先接听")
    return phone


def _being_rung(session: Session, agent_user_id: int) -> bool:
    """A double click must not ring the agent twice; a row whose callbacks never came blocks only for
    one ring's time."""
    since = utcnow() - timedelta(seconds=telephony_settings().agent_ring_seconds + 30)
    ringing = (AgentCallStatus.QUEUED, AgentCallStatus.DIALING, AgentCallStatus.RINGING)
    stmt = select(AgentCall.id).where(
        AgentCall.agent_user_id == agent_user_id,
        col(AgentCall.status).in_([s.value for s in ringing]),
        col(AgentCall.created_at) >= since,
    )
    return session.exec(stmt.limit(1)).first() is not None


def _store(
    session: Session,
    agent_user_id: int,
    actor: str | None,
    purpose: AgentCallPurpose,
    agent_phone: str,
    *,
    case_id: int | None = None,
    resident: str | None = None,
) -> AgentCall:
    row = AgentCall(
        agent_user_id=agent_user_id,
        actor=actor_id(actor or f"agent:{agent_user_id}"),
        purpose=purpose.value,
        agent_phone=agent_phone,
        case_id=case_id,
        resident_phone=resident,
    )
    session.add(row)
    session.flush()
    assert row.id is not None
    enqueue_after_commit(session, JobName.RING_AGENT, row.id)
    log.info("agent call %s (%s) for user %s stored", row.id, purpose.value, agent_user_id)
    return row


# --- read models (the console) --------------------------------------------------------------------


def agent_call(session: Session, agent_call_id: int, *, agent_user_id: int | None = None) -> AgentCall | None:
    """One call by id; with `agent_user_id`, only when it is that agent's."""
    stmt = select(AgentCall).where(AgentCall.id == agent_call_id)
    if agent_user_id is not None:
        stmt = stmt.where(AgentCall.agent_user_id == agent_user_id)
    return session.exec(stmt).first()


def current_agent_call(session: Session, agent_user_id: int) -> AgentCall | None:
    """The agent's latest call that has not ended (queued … bridged), for the screen pop; one older than
    HOTLINE_AGENT_CALL_STALE_MINUTES no longer counts (its final callback was lost)."""
    since = utcnow() - timedelta(minutes=telephony_settings().agent_call_stale_minutes)
    stmt = (
        select(AgentCall)
        .where(
            AgentCall.agent_user_id == agent_user_id,
            col(AgentCall.status).in_([s.value for s in AGENT_CALL_ACTIVE]),
            col(AgentCall.created_at) >= since,
        )
        .order_by(col(AgentCall.id).desc())
        .limit(1)
    )
    return session.exec(stmt).first()


def callback_calls(session: Session, case_id: int) -> list[AgentCall]:
    """Every 回访 call placed for a case, oldest first (attempts: `dial_outcome` other than completed)."""
    stmt = (
        select(AgentCall)
        .where(AgentCall.case_id == case_id, AgentCall.purpose == AgentCallPurpose.CALLBACK.value)
        .order_by(col(AgentCall.id))
    )
    return list(session.exec(stmt))


# --- the job --------------------------------------------------------------------------------------


def webhook_url(path: str, agent_call_id: int) -> str:
    """The public URL of one of agent_voice's webhooks for this call (what Twilio requests and signs)."""
    return f"{intake_settings().public_base_url.rstrip('/')}{PREFIX}{path}?ac={agent_call_id}"


def _claim(agent_call_id: int) -> AgentCall | None:
    """Queued → dialing in one UPDATE: of two runs of the job (a retry, two workers) one places the call."""
    with session_scope() as s:
        claimed = s.execute(
            update(AgentCall)
            .where(col(AgentCall.id) == agent_call_id, col(AgentCall.status) == AgentCallStatus.QUEUED.value)
            .values(status=AgentCallStatus.DIALING.value)
            .returning(col(AgentCall.id))
        ).scalar_one_or_none()
        row = s.get(AgentCall, agent_call_id) if claimed is not None else None
        if row is not None:
            s.expunge(row)
        return row


@job_ids("agent_call_id")
def ring_agent(agent_call_id: int) -> None:
    """Job: place the call to the agent's phone. Twilio fetches /twilio/agent/answer when they answer."""
    row = _claim(agent_call_id)
    if row is None:
        return
    settings = telephony_settings()
    reason = rest.credentials_missing(settings)

    def send() -> str:
        call = rest.get_client(settings).calls.create(
            to=row.agent_phone,
            from_=settings.twilio_from_number,
            url=webhook_url("/answer", agent_call_id),
            method="POST",
            status_callback=webhook_url("/status", agent_call_id),
            status_callback_method="POST",
            status_callback_event=STATUS_EVENTS,
            timeout=settings.agent_ring_seconds,
        )
        return str(call.sid)

    sid, error, _ = (None, reason, 0) if reason else rest.with_retries(send)
    with session_scope() as s:
        stored = s.get(AgentCall, agent_call_id)
        assert stored is not None
        if sid:
            stored.agent_call_sid = stored.agent_call_sid or sid
            _advance(stored, AgentCallStatus.RINGING)
        else:
            stored.last_error = error
            _finish(stored, AgentCallStatus.FAILED)
        s.add(stored)
    if error:
        log.error("agent call %s could not be placed: %s", agent_call_id, error)


# --- what Twilio tells us (agent_voice.py) --------------------------------------------------------


def _advance(row: AgentCall, status: AgentCallStatus) -> None:
    """Forward only, and never out of a final status."""
    current = AgentCallStatus(row.status)
    if current in AGENT_CALL_ACTIVE and AGENT_CALL_ORDER.index(status) > AGENT_CALL_ORDER.index(current):
        row.status = status.value


def _finish(row: AgentCall, status: AgentCallStatus) -> None:
    if AgentCallStatus(row.status) in AGENT_CALL_ACTIVE:
        row.status = status.value
        row.ended_at = row.ended_at or utcnow()


def _own_row(session: Session, agent_call_id: int, agent_leg_sid: str) -> AgentCall | None:
    """The row a webhook about the agent's leg names, when that leg is its call (learnt here if the
    answer came before the ring job stored the sid)."""
    row = session.get(AgentCall, agent_call_id)
    if row is None or not agent_leg_sid:
        return None
    if row.agent_call_sid is None:
        taken = session.exec(select(AgentCall.id).where(AgentCall.agent_call_sid == agent_leg_sid)).first()
        if taken is not None:
            return None
        row.agent_call_sid = agent_leg_sid
    if row.agent_call_sid != agent_leg_sid:
        log.warning("agent call %s: a webhook for another call %s ignored", agent_call_id, agent_leg_sid)
        return None
    return row


def agent_answered(session: Session, agent_call_id: int, agent_leg_sid: str) -> AgentCall | None:
    row = _own_row(session, agent_call_id, agent_leg_sid)
    if row is not None:
        row.answered_at = row.answered_at or utcnow()
        _advance(row, AgentCallStatus.ANSWERED)
        session.add(row)
    return row


def agent_leg_status(session: Session, agent_call_id: int, agent_leg_sid: str, call_status: str) -> AgentCall | None:
    """The agent leg's status callback: ringing, answered (in-progress), or how it ended."""
    row = _own_row(session, agent_call_id, agent_leg_sid)
    if row is None:
        return None
    if call_status == "ringing":
        _advance(row, AgentCallStatus.RINGING)
    elif call_status == "in-progress":
        row.answered_at = row.answered_at or utcnow()
        _advance(row, AgentCallStatus.ANSWERED)
    elif call_status in TWILIO_FINAL_STATUS:
        _finish(row, TWILIO_FINAL_STATUS[call_status])
    session.add(row)
    return row


def caller_dequeued(
    session: Session, agent_call_id: int, *, dequeuing_call_sid: str, caller_call_sid: str, caller_from: str | None
) -> AgentCall | None:
    """The queue handed a caller to the agent's leg (<Queue url>, requested on the caller's leg): the
    caller's call and phone go on the agent's call, for the screen pop. A retry changes nothing more."""
    row = session.exec(select(AgentCall).where(AgentCall.agent_call_sid == dequeuing_call_sid)).first()
    if row is None:
        row = _own_row(session, agent_call_id, dequeuing_call_sid)
    if row is None or row.purpose != AgentCallPurpose.NEXT_CALLER.value or not caller_call_sid:
        return None
    if row.resident_call_sid is not None:
        return row
    caller = session.exec(select(CallSession).where(CallSession.call_sid == caller_call_sid)).first()
    known = caller.from_phone if caller is not None else None
    try:
        phone = normalize_phone(known or caller_from)
    except InvalidPhone:
        phone = None  # a withheld or foreign number: the agent still talks to them
    row.resident_call_sid = caller_call_sid
    row.resident_phone = phone
    row.bridged_at = utcnow()
    row.answered_at = row.answered_at or row.bridged_at
    _advance(row, AgentCallStatus.BRIDGED)
    session.add(row)
    if caller is not None and caller.answered_at is None:
        caller.answered_at = row.bridged_at  # an agent took them from the queue: the hotline's answer time
        session.add(caller)
    log.info("agent call %s bridged caller %s", row.id, caller_call_sid)
    return row


def resident_answered(
    session: Session, agent_call_id: int, agent_leg_sid: str, resident_call_sid: str
) -> AgentCall | None:
    """回访: the resident picked up (the <Number>'s status callback, on the resident's leg, whose parent is
    the agent's leg): they are talking now. A retry changes nothing more."""
    row = _own_row(session, agent_call_id, agent_leg_sid)
    if row is None or row.purpose != AgentCallPurpose.CALLBACK.value or not resident_call_sid:
        return None
    if row.bridged_at is None:
        row.resident_call_sid = row.resident_call_sid or resident_call_sid
        row.bridged_at = utcnow()
        _advance(row, AgentCallStatus.BRIDGED)
        session.add(row)
    return row


_OUTCOME_ZH = {
    AgentCallStatus.COMPLETED: "已接通",
    AgentCallStatus.NO_ANSWER: "市民未接听",
    AgentCallStatus.BUSY: "市民电话占线",
    AgentCallStatus.FAILED: "未能接通",
    AgentCallStatus.CANCELED: "已取消",
}


def dial_ended(
    session: Session,
    agent_call_id: int,
    agent_leg_sid: str,
    *,
    dial_status: str,
    dial_call_sid: str | None,
    dial_seconds: str | None,
) -> AgentCall | None:
    """The agent's <Dial> ended (its action URL): record DialCallStatus once. It says more than the agent
    leg's own end (who did not answer), so it also replaces a `completed` that callback set first. A
    回访's outcome goes on the case's timeline, by the agent who placed it."""
    row = _own_row(session, agent_call_id, agent_leg_sid)
    if row is None or row.dial_outcome is not None:
        return row
    outcome = TWILIO_FINAL_STATUS.get(dial_status, AgentCallStatus.FAILED)
    nobody = row.purpose == AgentCallPurpose.NEXT_CALLER.value and row.resident_call_sid is None
    if nobody and outcome == AgentCallStatus.COMPLETED:
        outcome = AgentCallStatus.NO_ANSWER  # the queue's Dial ended before anybody was handed over
    row.dial_outcome = dial_status if dial_status in TWILIO_FINAL_STATUS else AgentCallStatus.FAILED.value
    if dial_seconds and dial_seconds.isascii() and dial_seconds.isdigit() and len(dial_seconds) <= 9:
        row.dial_seconds = int(dial_seconds)
    if row.purpose == AgentCallPurpose.CALLBACK.value:
        row.resident_call_sid = row.resident_call_sid or (dial_call_sid or None)
        if outcome == AgentCallStatus.COMPLETED:
            row.bridged_at = row.bridged_at or utcnow() - timedelta(seconds=row.dial_seconds or 0)
    if row.status == AgentCallStatus.COMPLETED.value:
        row.status = outcome.value
    _finish(row, outcome)
    session.add(row)
    case = session.get(Case, row.case_id) if row.case_id else None
    if case is not None:
        record_event(
            session,
            case,
            Action.NOTE,
            row.actor,
            reason=f"回访电话：{_OUTCOME_ZH[outcome]}",
            data={"agent_call_id": row.id, "dial_outcome": row.dial_outcome},
        )
        if outcome != AgentCallStatus.COMPLETED:  # the resident was not reached: a 回访 attempt to retry
            enqueue_after_commit(session, JobName.RECORD_CALLBACK_CALL, row.id)
    return row
