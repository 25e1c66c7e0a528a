"""`/supervisor/extensions` (pending 延期 requests: approve or refuse, with a note; an approval moves the
deadline, and the page says to when) and `/supervisor/rulings` (cases returned twice awaiting 审定: the
responsible department and the reason; binding). Each post calls one use case of `routing.department`."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field, ValidationError
from sqlmodel import Session

from agent_ui.auth import SupervisorUser
from agent_ui.department import wording
from agent_ui.department.refusals import Refusal, refusal_zh
from agent_ui.templating import render
from cases.lifecycle import IllegalTransition
from cases.models import Case, utcnow
from cases.reference import InvalidInput, reference_names
from intake.deps import DbSession
from routing import department
from routing.decisions import extension_request, extension_rows, ruling_case, rulings_due
from routing.models import ExtensionState

router = APIRouter(prefix="/supervisor", include_in_schema=False)

REFUSED = (IllegalTransition, InvalidInput)


class DecisionForm(BaseModel):
    decision: Literal["approve", "refuse"]
    note: str = Field(default="", max_length=500)


class RulingForm(BaseModel):
    department_code: str = Field(default="", max_length=32)
    reason: str = Field(default="", max_length=500)


def _common(now: Any, nav: str) -> dict[str, Any]:
    return {
        "nav": nav,
        "now": now,
        "left": lambda deadline: wording.left_zh(deadline, now),
        "clock_text": lambda clock: wording.clock_zh(clock, now),
    }


def _extensions_page(
    request: Request,
    db: Session,
    *,
    status: int = 200,
    error: str | None = None,
    error_id: int | None = None,
    typed: dict[str, str] | None = None,
) -> HTMLResponse:
    now = utcnow()
    decided = None
    if status == 200 and request.query_params.get("r", "").isdigit():
        decided = extension_request(db, int(request.query_params["r"][:10]))
    decided_case = db.get(Case, decided.case_id) if decided is not None else None
    rows = extension_rows(db, now)
    if error_id not in {r.request.id for r in rows}:
        error_id = None  # the request is no longer pending: the message goes to the top
    return render(
        request,
        "supervisor/extensions.html",
        status_code=status,
        rows=rows,
        decided=decided if decided is not None and decided.state != ExtensionState.PENDING.value else None,
        decided_case=decided_case,
        error=error,
        error_id=error_id,
        typed=typed or {},
        **_common(now, "extensions"),
    )


@router.get("/extensions", response_class=HTMLResponse)
def extensions(request: Request, db: DbSession, supervisor: SupervisorUser) -> HTMLResponse:
    return _extensions_page(request, db)


@router.post("/extensions/{request_id}")
def decide(
    request: Request,
    db: DbSession,
    supervisor: SupervisorUser,
    request_id: int,
    decision: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
) -> Response:
    found = extension_request(db, request_id)
    if found is None:
        raise HTTPException(404, "没有这条延期申请")
    typed = {"note": note[:500]}
    try:
        with db.begin_nested():
            try:
                f = DecisionForm(decision=decision, note=note)
            except ValidationError:
                raise Refusal("请选择批准或驳回，说明不超过 500 字") from None
            if not f.note.strip():
                raise Refusal("请填写审批意见")
            department.decide_extension(
                db, found, supervisor.actor, approve=f.decision == "approve", note=f.note.strip()
            )
    except Refusal as exc:
        return _extensions_page(request, db, status=422, error=str(exc), error_id=request_id, typed=typed)
    except REFUSED as exc:
        return _extensions_page(request, db, status=422, error=refusal_zh(exc), error_id=request_id, typed=typed)
    return RedirectResponse(f"/supervisor/extensions?r={request_id}", status_code=303)


def _rulings_page(
    request: Request,
    db: Session,
    *,
    status: int = 200,
    error: str | None = None,
    error_number: str | None = None,
    typed: dict[str, str] | None = None,
) -> HTMLResponse:
    now = utcnow()
    names = reference_names()
    done = request.query_params.get("n", "")[:32] if status == 200 else ""
    rows = rulings_due(db)
    if error_number not in {r.case.number for r in rows}:
        error_number = None
    return render(
        request,
        "supervisor/rulings.html",
        status_code=status,
        rows=rows,
        departments=sorted(((code, d.name) for code, d in names.departments.items() if d.active), key=lambda t: t[0]),
        dept_name=names.department,
        done_number=done,
        done_department=names.department(request.query_params.get("d", "")[:32]) if done else None,
        error=error,
        error_number=error_number,
        typed=typed or {},
        **_common(now, "rulings"),
    )


@router.get("/rulings", response_class=HTMLResponse)
def rulings(request: Request, db: DbSession, supervisor: SupervisorUser) -> HTMLResponse:
    return _rulings_page(request, db)


@router.post("/rulings/{number}")
def rule(
    request: Request,
    db: DbSession,
    supervisor: SupervisorUser,
    number: str,
    department_code: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    case = ruling_case(db, number)
    if case is None:
        raise HTTPException(404, "没有这个待审定的工单（可能已审定）")
    typed = {"department_code": department_code[:32], "reason": reason[:500]}
    try:
        with db.begin_nested():
            f = RulingForm(department_code=department_code, reason=reason)
            if not f.department_code:
                raise Refusal("请选择负责办理的承办单位")
            if not f.reason.strip():
                raise Refusal("请填写审定理由")
            department.rule_on_return(
                db, case, supervisor.actor, department_code=f.department_code, reason=f.reason.strip()
            )
    except ValidationError:
        return _rulings_page(request, db, status=422, error="输入内容过长", error_number=number, typed=typed)
    except Refusal as exc:
        return _rulings_page(request, db, status=422, error=str(exc), error_number=number, typed=typed)
    except REFUSED as exc:
        return _rulings_page(request, db, status=422, error=refusal_zh(exc), error_number=number, typed=typed)
    return RedirectResponse(f"/supervisor/rulings?n={case.number}&d={f.department_code}", status_code=303)
