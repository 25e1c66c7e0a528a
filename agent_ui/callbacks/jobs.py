"""Job: a 回访 call placed from the console whose resident did not answer (Twilio's dial webhook said
so) becomes a try on the worklist, with the retry policy and the SMS link of the last one. Takes the
call's id; safe to run twice (one try per call)."""

from __future__ import annotations

import logging

from agent_ui.callbacks.queries import DIAL_OUTCOME
from cases.db import session_scope
from cases.logcontext import job_ids
from cases.models import Case
from intake.telephony.models import AgentCall
from routing.callback_actions import CallbackRefused, record_attempt
from routing.models import CallbackHow

log = logging.getLogger(__name__)


@job_ids("agent_call_id")
def record_callback_call(agent_call_id: int) -> None:
    with session_scope() as s:
        call = s.get(AgentCall, agent_call_id)
        outcome = DIAL_OUTCOME.get(call.dial_outcome or "") if call is not None else None
        case = s.get(Case, call.case_id) if call is not None and call.case_id else None
        if call is None or outcome is None or case is None:
            return
        try:
            record_attempt(s, case, outcome, actor=call.actor, how=CallbackHow.AGENT_CALL, agent_call_id=call.id)
        except CallbackRefused as exc:  # the agent already recorded the survey, or closed the case
            log.info("callback call %s not recorded as a try: %s", agent_call_id, exc.message)
