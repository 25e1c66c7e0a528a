"""What the callback pages show, from routing's worklist (cases, tries, ratings), telephony's automated
survey rows and the agent's own console call. Reads only."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel import Session

from agent_ui.auth import Principal, reader
from intake.telephony.agent_calls import agent_call, callback_calls
from intake.telephony.models import AgentCall
from intake.telephony.states import AGENT_CALL_ACTIVE, AGENT_CALL_STATUS_ZH, AgentCallStatus
from intake.telephony.survey_results import AutoSurvey, auto_surveys
from routing.callbacks import CallbackRow, Worklist, callback_case, worklist
from routing.models import CallbackOutcome
from routing.settings import routing_settings

# How the resident's leg of a console call ended (Twilio's DialCallStatus) → the try it was.
DIAL_OUTCOME = {
    "no-answer": CallbackOutcome.NO_ANSWER,
    "busy": CallbackOutcome.BUSY,
    "failed": CallbackOutcome.FAILED,
    "canceled": CallbackOutcome.FAILED,
}


@dataclass(frozen=True)
class CallView:
    """The agent's latest console call about a case, as the page shows it while it goes on."""

    call: AgentCall
    text: str
    active: bool
    resident_outcome: CallbackOutcome | None  # the resident was not reached: record it as a try
    talked: bool  # the resident answered: fill in the survey


@dataclass
class Page:
    worklist: Worklist
    autos: dict[int, list[AutoSurvey]] = field(default_factory=dict)
    max_attempts: int = 3


@dataclass
class Panel:
    row: CallbackRow
    autos: list[AutoSurvey]
    call: CallView | None
    max_attempts: int


def _view(call: AgentCall) -> CallView:
    status = AgentCallStatus(call.status)
    outcome = DIAL_OUTCOME.get(call.dial_outcome or "")
    talked = call.dial_outcome == "completed" or call.bridged_at is not None
    text = AGENT_CALL_STATUS_ZH[status]
    if outcome is not None:
        text = {CallbackOutcome.NO_ANSWER: "市民未接听", CallbackOutcome.BUSY: "市民电话占线"}.get(
            outcome, "未能接通市民"
        )
    elif status == AgentCallStatus.NO_ANSWER and call.answered_at is None:
        text = "您的电话无人接听，本次未拨打市民"
    return CallView(call, text, status in AGENT_CALL_ACTIVE, outcome, talked)


def callbacks_page(session: Session, principal: Principal, *, after: str | None = None) -> Page:
    wl = worklist(session, reader(principal), after=after)
    rows = wl.due + wl.waiting + wl.texted
    ids = [r.case.id for r in rows if r.case.id is not None]
    return Page(wl, auto_surveys(session, ids), routing_settings().callback_max_attempts)


def callback_panel(session: Session, principal: Principal, number: str) -> Panel | None:
    row = callback_case(session, reader(principal), number)
    if row is None or row.case.id is None:
        return None
    mine = [c for c in callback_calls(session, row.case.id) if c.agent_user_id == principal.user.id]
    latest = mine[-1] if mine and mine[-1].created_at >= row.verified_at else None
    return Panel(
        row,
        auto_surveys(session, [row.case.id]).get(row.case.id, []),
        _view(latest) if latest else None,
        routing_settings().callback_max_attempts,
    )


def my_call(session: Session, principal: Principal, agent_call_id: int) -> AgentCall | None:
    assert principal.user.id is not None
    return agent_call(session, agent_call_id, agent_user_id=principal.user.id)
