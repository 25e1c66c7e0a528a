"""Taking a call: "接听下一位" rings the agent's own phone (intake.telephony.agent_calls does the Twilio
side), then the call panel polls until the longest-waiting caller is bridged and shows who they are and
their earlier cases, with a button to type their case."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse

from agent_ui.auth import AgentUser, reader
from agent_ui.templating import render
from agent_ui.workbench.screen_pop import call_panel, panel_of
from cases.reference import reference_names
from intake.deps import DbSession
from intake.telephony.agent_calls import AgentCallRefused, ring_agent_for_next_caller

router = APIRouter(prefix="/console/calls", include_in_schema=False)

TEMPLATE = "workbench/_call_panel.html"


@router.post("/next", response_class=HTMLResponse)
def next_caller(request: Request, db: DbSession, agent: AgentUser) -> HTMLResponse:
    user = agent.user
    assert user.id is not None
    try:
        row = ring_agent_for_next_caller(db, agent_user_id=user.id, agent_phone=user.phone, actor=agent.actor)
    except AgentCallRefused as exc:
        raise HTTPException(422, exc.message) from None
    panel = panel_of(db, row, reader(agent))
    return render(request, TEMPLATE, block="call", call=panel, names=reference_names())


@router.get("/current", response_class=HTMLResponse)
def current(request: Request, db: DbSession, agent: AgentUser) -> HTMLResponse:
    """The panel's content: nothing when no call is on, else its state (polled while it changes)."""
    assert agent.user.id is not None
    panel = call_panel(db, agent.user.id, reader(agent))
    return render(request, TEMPLATE, block="call", call=panel, names=reference_names())
