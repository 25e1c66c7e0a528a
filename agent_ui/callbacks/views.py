"""`/console/callbacks`: the worklist, one case's callback panel (script, survey form, tries, what the
resident already said), click-to-call with its status polled while it rings, and the actions."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field, ValidationError
from sqlmodel import Session

from agent_ui.auth import AgentUser, Principal
from agent_ui.callbacks import actions
from agent_ui.callbacks.queries import callback_panel, callbacks_page
from agent_ui.templating import is_htmx, render
from cases.rating import RATINGS
from intake.deps import DbSession
from routing.callback_actions import CallbackRefused
from routing.callbacks import CHANNEL_ZH, BadCursor
from routing.models import OUTCOME_ZH, CallbackOutcome
from routing.settings import routing_settings

router = APIRouter(prefix="/console/callbacks", include_in_schema=False)

# What a redirect after an action tells the agent: a fixed code in the URL, never text from the URL.
NOTICES = {
    "surveyed": "回访已记录，工单已结案",
    "next": "回访已记录；该工单还有其他反映人待回访",
    "reopened": "市民不满意，工单已重开，待重新派遣处置",
    "attempt": "已记录本次未接通，稍后将再次出现在列表中",
    "texted": "已记录未接通；已达最多回访次数，已向市民发送短信评价链接",
    "closed": "工单已结案",
}
HAND_OUTCOMES = [(o.value, OUTCOME_ZH[o]) for o in (CallbackOutcome.NO_ANSWER, CallbackOutcome.BUSY)]


class SurveyForm(BaseModel):
    rating: Literal["satisfied", "basic", "unsatisfied"]
    comment: str = Field(default="", max_length=500)
    agent_call_id: int | None = Field(default=None, ge=1)
    report_id: int | None = Field(default=None, ge=1)  # which reporter answered (一事多诉: one of several)


class AttemptForm(BaseModel):
    outcome: Literal["no_answer", "busy"]


def _context() -> dict[str, Any]:
    minutes = routing_settings().callback_retry_minutes
    retry = f"{minutes // 60} 小时" if minutes % 60 == 0 else f"{minutes} 分钟"
    return {
        "nav": "callbacks",
        "ratings": RATINGS,
        "outcome_zh": OUTCOME_ZH,
        "channel_zh": CHANNEL_ZH,
        "retry_hint": retry,
    }


def _page(
    request: Request,
    db: Session,
    agent: Principal,
    number: str | None = None,
    *,
    form: dict[str, str] | None = None,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    panel = callback_panel(db, agent, number) if number else None
    if number and panel is None:
        raise HTTPException(404, "没有这个工单，或您无权查看")
    return render(
        request,
        "callbacks/list.html",
        status_code=status,
        page=callbacks_page(db, agent),
        panel=panel,
        form=form or {},
        error=error,
        hand_outcomes=HAND_OUTCOMES,
        notice=NOTICES.get(request.query_params.get("done", "")),
        done_number=request.query_params.get("n", "")[:32],
        **_context(),
    )


@router.get("", response_class=HTMLResponse)
def worklist(request: Request, db: DbSession, agent: AgentUser, after: str = "") -> HTMLResponse:
    """The page; with `after` (the "更多" button) only the next rows."""
    if not after:
        return _page(request, db, agent)
    try:
        page = callbacks_page(db, agent, after=after[:40])
    except BadCursor:
        raise HTTPException(400, "翻页参数无效，请刷新页面") from None
    return render(request, "callbacks/list.html", block="rows", page=page, **_context())


@router.get("/{number}", response_class=HTMLResponse)
def case_panel(request: Request, db: DbSession, agent: AgentUser, number: str) -> HTMLResponse:
    return _page(request, db, agent, number)


def _opt_int(value: str) -> int | None:
    return int(value) if value.strip().isdigit() and len(value.strip()) <= 12 else None


@router.post("/{number}/survey", response_class=HTMLResponse)
def survey(
    request: Request,
    db: DbSession,
    agent: AgentUser,
    number: str,
    rating: Annotated[str, Form()] = "",
    comment: Annotated[str, Form()] = "",
    agent_call_id: Annotated[str, Form()] = "",
    report_id: Annotated[str, Form()] = "",
) -> Response:
    typed = {"rating": rating, "comment": comment, "report_id": report_id[:12]}
    try:
        form = SurveyForm(
            rating=rating, comment=comment, agent_call_id=_opt_int(agent_call_id), report_id=_opt_int(report_id)
        )
        outcome = actions.survey(db, agent, number, form.rating, form.comment, form.agent_call_id, form.report_id)
    except ValidationError as exc:
        message = "评价说明不能超过500字" if any(e["loc"] == ("comment",) for e in exc.errors()) else None
        return _page(
            request,
            db,
            agent,
            number,
            form=typed,
            error=message or "请选择市民的评价：满意、基本满意或不满意",
            status=422,
        )
    except CallbackRefused as exc:
        return _page(request, db, agent, number, form=typed, error=exc.message, status=422)
    except actions.CaseNotFound:
        raise HTTPException(404, "没有这个工单，或您无权查看") from None
    if outcome == "noted":  # another reporter of the case is still to be called: stay on its panel
        return RedirectResponse(f"/console/callbacks/{number}?done=next", status_code=303)
    done = "reopened" if outcome == "reopened" else "surveyed"
    return RedirectResponse(f"/console/callbacks?done={done}&n={number}", status_code=303)


@router.post("/{number}/attempt", response_class=HTMLResponse)
def not_reached(
    request: Request, db: DbSession, agent: AgentUser, number: str, outcome: Annotated[str, Form()] = ""
) -> Response:
    """无人接听 / 占线 recorded by hand (the agent dialled from a desk phone)."""
    typed = {"outcome": outcome[:16]}
    try:
        form = AttemptForm(outcome=outcome)
        attempt = actions.not_reached(db, agent, number, form.outcome)
    except ValidationError:
        return _page(request, db, agent, number, form=typed, error="请选择未接通的原因：无人接听或占线", status=422)
    except CallbackRefused as exc:
        return _page(request, db, agent, number, form=typed, error=exc.message, status=422)
    except actions.CaseNotFound:
        raise HTTPException(404, "没有这个工单，或您无权查看") from None
    done = "attempt" if attempt.next_try_at is not None else "texted"
    return RedirectResponse(f"/console/callbacks?done={done}&n={number}", status_code=303)


@router.post("/{number}/close", response_class=HTMLResponse)
def close(request: Request, db: DbSession, agent: AgentUser, number: str) -> Response:
    try:
        actions.close(db, agent, number)
    except CallbackRefused as exc:
        return _page(request, db, agent, number, error=exc.message, status=422)
    except actions.CaseNotFound:
        raise HTTPException(404, "没有这个工单，或您无权查看") from None
    return RedirectResponse(f"/console/callbacks?done=closed&n={number}", status_code=303)


@router.post("/{number}/call", response_class=HTMLResponse)
def call(
    request: Request, db: DbSession, agent: AgentUser, number: str, report_id: Annotated[str, Form()] = ""
) -> Response:
    """Ring the agent's phone; htmx swaps in the call's status, which then polls itself. `report_id`: the
    reporter to dial (default: the next who has not rated)."""
    try:
        actions.ring(db, agent, number, _opt_int(report_id))
    except CallbackRefused as exc:
        raise HTTPException(409, exc.message) from None
    except actions.CaseNotFound:
        raise HTTPException(404, "没有这个工单，或您无权查看") from None
    if not is_htmx(request):
        return RedirectResponse(f"/console/callbacks/{number}", status_code=303)
    db.flush()
    return render(request, "callbacks/list.html", block="call", panel=callback_panel(db, agent, number), **_context())


@router.get("/{number}/call", response_class=HTMLResponse)
def call_status(request: Request, db: DbSession, agent: AgentUser, number: str) -> HTMLResponse:
    panel = callback_panel(db, agent, number)
    if panel is None:
        raise HTTPException(404, "没有这个工单，或您无权查看")
    return render(request, "callbacks/list.html", block="call", panel=panel, **_context())
