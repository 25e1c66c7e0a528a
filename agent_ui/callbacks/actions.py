"""The console's 回访 actions: find the case the agent may see, check the console call they name is
theirs and about that case, then call routing's use case (or telephony's, to ring the agent). Each takes
the request's session and flushes; the request commits."""

from __future__ import annotations

from sqlmodel import Session

from agent_ui.auth import Principal, reader
from agent_ui.callbacks.queries import my_call
from cases.lifecycle import CaseStatus
from cases.models import Case
from cases.queries import phoned_reporters
from cases.rating import Outcome
from intake.telephony.agent_calls import AgentCallRefused, ring_agent_for_callback
from intake.telephony.models import AgentCall
from routing.callback_actions import CallbackRefused, close_without_callback, record_attempt, record_survey
from routing.callbacks import callback_case
from routing.models import CallbackAttempt, CallbackHow, CallbackOutcome


class CaseNotFound(Exception):
    pass


def _case(session: Session, principal: Principal, number: str) -> Case:
    row = callback_case(session, reader(principal), number)
    if row is None:
        raise CaseNotFound(number)
    return row.case


def _call(session: Session, principal: Principal, case: Case, agent_call_id: int | None) -> AgentCall | None:
    if agent_call_id is None:
        return None
    call = my_call(session, principal, agent_call_id)
    if call is None or call.case_id != case.id:
        raise CallbackRefused("这通电话不是您为该工单拨打的回访电话")
    return call


def _report_of_phone(session: Session, case: Case, phone: str | None) -> int | None:
    assert case.id is not None
    return next((r.report_id for r in phoned_reporters(session, case.id) if r.phone == phone), None)


def survey(
    session: Session,
    principal: Principal,
    number: str,
    code: str,
    comment: str,
    agent_call_id: int | None,
    report_id: int | None = None,
) -> Outcome:
    """The rating of the reporter the agent reached: the one their console call dialled, else the one the
    form names (`report_id`), else the next who has not rated."""
    case = _case(session, principal, number)
    call = _call(session, principal, case, agent_call_id)
    how = CallbackHow.AGENT_CALL if call else CallbackHow.DESK_PHONE
    if call is not None and call.resident_phone:
        report_id = _report_of_phone(session, case, call.resident_phone) or report_id
    return record_survey(
        session,
        case,
        code,
        comment=comment,
        actor=principal.actor,
        how=how,
        agent_call_id=agent_call_id,
        report_id=report_id,
    )


def not_reached(session: Session, principal: Principal, number: str, outcome: str) -> CallbackAttempt:
    """无人接听 / 占线 recorded by hand, after a call from a desk phone (a console call that reached nobody
    is recorded by the job `record_callback_call`)."""
    case = _case(session, principal, number)
    try:
        parsed = CallbackOutcome(outcome)
    except ValueError:
        raise CallbackRefused("请选择未接通的原因：无人接听或占线") from None
    return record_attempt(session, case, parsed, actor=principal.actor, how=CallbackHow.DESK_PHONE)


def close(session: Session, principal: Principal, number: str) -> None:
    close_without_callback(session, _case(session, principal, number), actor=principal.actor)


def ring(session: Session, principal: Principal, number: str, report_id: int | None = None) -> AgentCall:
    """Click-to-call: ring the agent's own phone, then Twilio dials a reporter of the case: the one of
    `report_id`, else the next who has not rated this round."""
    row = callback_case(session, reader(principal), number)
    if row is None:
        raise CaseNotFound(number)
    case = row.case
    if case.status != CaseStatus.VERIFIED.value:
        raise CallbackRefused("该工单已不在待回访状态，请刷新列表")
    assert case.id is not None and principal.user.id is not None
    phone = row.phone
    if report_id is not None:
        chosen = next((r for r in row.reporters if r.report_id == report_id), None)
        if chosen is None:
            raise CallbackRefused("该号码不是这个工单反映人的电话")
        phone = chosen.phone
    try:
        return ring_agent_for_callback(
            session,
            agent_user_id=principal.user.id,
            agent_phone=principal.user.phone,
            case_id=case.id,
            resident_phone=phone,
            actor=principal.actor,
        )
    except AgentCallRefused as exc:
        raise CallbackRefused(exc.message) from None
