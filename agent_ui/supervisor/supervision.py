"""`/supervisor/supervision`: the 督办 list — open cases with a yellow or red card from the escalation
ladder, and overdue ones — each linking to its case page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from agent_ui.auth import SupervisorUser, reader
from agent_ui.templating import render
from intake.deps import DbSession
from routing.escalation import CLOCK_ZH
from routing.supervision import FILTERS, supervision_page

router = APIRouter(prefix="/supervisor", include_in_schema=False)


@router.get("/supervision", response_class=HTMLResponse)
def supervision(request: Request, db: DbSession, supervisor: SupervisorUser, card: str = "all") -> HTMLResponse:
    page = supervision_page(db, reader(supervisor), card[:16])
    return render(
        request, "supervisor/supervision.html", nav="supervision", page=page, filters=FILTERS, clock_zh=CLOCK_ZH
    )
