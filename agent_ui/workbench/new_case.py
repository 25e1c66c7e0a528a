"""`/console/new`: a case typed while the resident is on the phone.

As the agent types, the suggestions block (category top 3, grids) is re-rendered by a debounced htmx
request, and the resident's earlier cases appear once the phone number is complete. Each suggestion has
a key (1–3 categories, 4–6 grids). The form carries an idempotency key made when it was shown, so a
double submit makes one report; the page then waits for the pipeline's case and opens it."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import Session

from agent_ui.auth import AgentUser, Principal, reader
from agent_ui.templating import render
from agent_ui.workbench.history import complete_phone, earlier_cases
from agent_ui.workbench.typed import (
    Submission,
    TypedCase,
    TypedCaseError,
    call_phone,
    register_typed_report,
    submission,
)
from cases.reference import reference_names
from classifiers.base import ReportFacts
from classifiers.serving.suggest import suggest
from intake.deps import DbSession

router = APIRouter(prefix="/console/new", include_in_schema=False)

TEMPLATE = "workbench/new.html"
FIELDS = ("description", "phone", "place", "category_code", "grid_code", "call_id")


def _choices() -> dict[str, Any]:
    names = reference_names()
    return {
        "categories": sorted((code, c.name) for code, c in names.categories.items() if c.active),
        "grids": sorted((code, g.name) for code, g in names.grids.items()),
        "names": names,
    }


def _suggestions(description: str, place: str, phone: str | None) -> dict[str, Any]:
    facts = ReportFacts(text=description[:2000], address=place[:300] or None, phone=phone)
    return {"suggestions": suggest(facts), "typed_anything": bool(description.strip() or place.strip())}


def _history(db: Session, principal: Principal, phone: str | None) -> dict[str, Any]:
    return {"history_phone": phone, "history": earlier_cases(db, phone, reader(principal)) if phone else []}


def _page(
    request: Request,
    db: Session,
    principal: Principal,
    values: dict[str, str],
    *,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    caller = call_phone(db, values["call_id"], principal.user.id or 0) if values.get("call_id") else None
    phone = complete_phone(values.get("phone")) or caller
    return render(
        request,
        TEMPLATE,
        status_code=status,
        nav="new",
        values=values,
        error=error,
        caller=caller,
        **_choices(),
        **_suggestions(values.get("description", ""), values.get("place", ""), phone),
        **_history(db, principal, phone),
    )


@router.get("", response_class=HTMLResponse)
def new_case(request: Request, db: DbSession, agent: AgentUser, call: str = "") -> HTMLResponse:
    values = dict.fromkeys(FIELDS, "") | {"key": uuid.uuid4().hex, "call_id": call[:12]}
    return _page(request, db, agent, values)


@router.post("/suggest", response_class=HTMLResponse)
def suggestions(
    request: Request,
    agent: AgentUser,
    description: Annotated[str, Form()] = "",
    place: Annotated[str, Form()] = "",
) -> HTMLResponse:
    """The suggestions block for what is typed so far (htmx, debounced)."""
    return render(request, TEMPLATE, block="suggestions", **_choices(), **_suggestions(description, place, None))


@router.get("/history", response_class=HTMLResponse)
def history(request: Request, db: DbSession, agent: AgentUser, phone: str = "") -> HTMLResponse:
    """The earlier cases block: empty until the number is complete."""
    return render(request, TEMPLATE, block="history", **_choices(), **_history(db, agent, complete_phone(phone[:64])))


@router.post("", response_class=HTMLResponse)
def submit(
    request: Request,
    db: DbSession,
    agent: AgentUser,
    key: Annotated[str, Form()] = "",
    description: Annotated[str, Form()] = "",
    phone: Annotated[str, Form()] = "",
    place: Annotated[str, Form()] = "",
    category_code: Annotated[str, Form()] = "",
    grid_code: Annotated[str, Form()] = "",
    call_id: Annotated[str, Form()] = "",
) -> Response:
    typed = {"key": key, "description": description, "phone": phone, "place": place}
    typed |= {"category_code": category_code, "grid_code": grid_code, "call_id": call_id}
    try:
        form = TypedCase(**typed).cleaned()
        register_typed_report(db, form, agent.actor, agent_user_id=agent.user.id or 0)
    except ValidationError:
        return _page(request, db, agent, typed, error="输入过长，请精简后再提交（已填写的内容已保留）", status=422)
    except TypedCaseError as exc:
        return _page(request, db, agent, typed, error=str(exc), status=422)
    return RedirectResponse(f"/console/new/{form.key}", status_code=303)


def _made(db: Session, key: str) -> Submission:
    made = submission(db, key)
    if made is None:
        raise HTTPException(404, "没有找到这次登记")
    return made


@router.get("/{key}", response_class=HTMLResponse)
def submitted(request: Request, db: DbSession, agent: AgentUser, key: str) -> Response:
    """Where a submission lands: the case page once the pipeline made the case, else a page that waits."""
    made = _made(db, key)
    if made.case_number:
        return RedirectResponse(f"/console/cases/{made.case_number}", status_code=303)
    return render(request, "workbench/new_pending.html", nav="new", key=key, failed=made.failed)


@router.get("/{key}/status", response_class=HTMLResponse)
def submitted_status(request: Request, db: DbSession, agent: AgentUser, key: str) -> Response:
    """Polled by the waiting page: HX-Redirect to the case page once it exists."""
    made = _made(db, key)
    if made.case_number:
        return Response(headers={"HX-Redirect": f"/console/cases/{made.case_number}"})
    return render(request, "workbench/new_pending.html", block="pending", key=key, failed=made.failed)
