"""Read model: the agent's call in progress for the call panel, and once a caller is bridged, who they
are (their number, masked in the page) and their earlier cases — the "screen pop"."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel import Session

from agent_ui.workbench.history import EarlierCase, earlier_cases
from cases.access import Reader
from cases.models import Case
from intake.telephony.agent_calls import current_agent_call
from intake.telephony.models import AgentCall
from intake.telephony.states import AGENT_CALL_STATUS_ZH, AgentCallPurpose, AgentCallStatus


@dataclass(frozen=True)
class CallPanel:
    call_id: int
    status: AgentCallStatus
    status_zh: str
    purpose: AgentCallPurpose
    agent_phone: str
    caller_phone: str | None = None  # E.164: the page shows it masked
    earlier: list[EarlierCase] = field(default_factory=list)
    case_number: str | None = None  # a 回访's case

    @property
    def bridged(self) -> bool:
        return self.status == AgentCallStatus.BRIDGED


def panel_of(session: Session, row: AgentCall, reader: Reader) -> CallPanel:
    assert row.id is not None
    status = AgentCallStatus(row.status)
    caller = row.resident_phone if status == AgentCallStatus.BRIDGED else None
    case = session.get(Case, row.case_id) if row.case_id is not None else None
    return CallPanel(
        call_id=row.id,
        status=status,
        status_zh=AGENT_CALL_STATUS_ZH[status],
        purpose=AgentCallPurpose(row.purpose),
        agent_phone=row.agent_phone,
        caller_phone=caller,
        earlier=earlier_cases(session, caller, reader) if caller else [],
        case_number=case.number if case else None,
    )


def call_panel(session: Session, agent_user_id: int, reader: Reader) -> CallPanel | None:
    """The agent's call that has not ended, or None (no panel)."""
    row = current_agent_call(session, agent_user_id)
    return panel_of(session, row, reader) if row is not None else None
