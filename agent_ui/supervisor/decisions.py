"""The supervisors' inbox, `/supervisor/inbox`: pending 延期 requests (approve or refuse, with a note; an
approval moves the deadline, and the page says to when) and cases returned twice awaiting 审定 (the
responsible department and the reason; binding), in one list, the longest waiting first; and 改派 of a case
a department holds to another department, with a reason. The old pages `/supervisor/extensions` and
`/supervisor/rulings` redirect here. Each post calls one use case (`routing.department`, `routing.reassign`)."""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import urlencode

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
from cases.service import get_case_by_number
from intake.deps import DbSession
from routing import department
from routing.decisions import extension_request, inbox, inbox_counts, ruling_case
from routing.models import ExtensionState
from routing.reassign import reassign_case, reassignable

router = APIRouter(prefix="/supervisor", include_in_schema=False)

REFUSED = (IllegalTransition, InvalidInput)
INBOX = "/supervisor/inbox"


class DecisionForm(BaseModel):
    decision: Literal["approve", "refuse"]
    note: str = Field(default="", max_length=500)


class RulingForm(BaseModel):
    department_code: str = Field(default="", max_length=32)
    reason: str = Field(default="", max_length=500)


class ReassignForm(BaseModel):
    department_code: str = Field(default="", max_length=32)
    reason: str = Field(default="", max_length=500)


def departments() -> list[tuple[str, str]]:
    names = reference_names()
    return sorted(((code, d.name) for code, d in names.departments.items() if d.active), key=lambda t: t[0])


def _inbox_page(
    request: Request,
    db: Session,
    *,
    status: int = 200,
    error: str | None = None,
    error_key: str | None = None,
    typed: dict[str, str] | None = None,
) -> HTMLResponse:
    """The inbox; `error_key` names the row whose form was refused (`extension:<id>`, `ruling:<number>`,
    `reassign:<number>`): its message and typed values show in that row, else at the top."""
    now = utcnow()
    names = reference_names()
    q = request.query_params if status == 200 else {}
    decided = extension_request(db, int(q["r"][:10])) if q.get("r", "").isdigit() else None
    decided_case = db.get(Case, decided.case_id) if decided is not None else None
    items = inbox(db, now)
    keys = {f"{i.kind.value}:{i.extension.request.id if i.extension else i.case.number}" for i in items}
    keys |= {f"reassign:{i.case.number}" for i in items if i.extension is not None}
    if error_key not in keys:
        error_key = None  # the row is gone (decided meanwhile): the message goes to the top
    return render(
        request,
        "supervisor/inbox.html",
        status_code=status,
        items=items,
        counts=inbox_counts(db),
        departments=departments(),
        dept_name=names.department,
        decided=decided if decided is not None and decided.state != ExtensionState.PENDING.value else None,
        decided_case=decided_case,
        ruled_number=q.get("n", "")[:32],
        ruled_department=names.department(q.get("d", "")[:32]) if q.get("n") else None,
        moved_number=q.get("m", "")[:32],
        moved_department=names.department(q.get("d", "")[:32]) if q.get("m") else None,
        reassignable=reassignable,
        error=error,
        error_key=error_key,
        typed=typed or {},
        nav="inbox",
        now=now,
        left=lambda deadline: wording.left_zh(deadline, now),
        clock_text=lambda clock: wording.clock_zh(clock, now),
    )


@router.get("/inbox", response_class=HTMLResponse)
def inbox_page(request: Request, db: DbSession, supervisor: SupervisorUser) -> HTMLResponse:
    return _inbox_page(request, db)


@router.get("/inbox/counts", response_class=HTMLResponse)
def counts(request: Request, db: DbSession, supervisor: SupervisorUser) -> HTMLResponse:
    """The nav's badge (loaded by htmx on every supervisor page, so the shell itself queries nothing)."""
    return render(request, "supervisor/_inbox_count.html", counts=inbox_counts(db))


def _to_inbox(request: Request) -> RedirectResponse:
    query = urlencode({k: v[:32] for k, v in request.query_params.items() if k in ("r", "n", "d")})
    return RedirectResponse(INBOX + (f"?{query}" if query else ""), status_code=303)


@router.get("/extensions")
def extensions(request: Request, supervisor: SupervisorUser) -> Response:
    """The old 延期审批 page: now one kind of the inbox."""
    return _to_inbox(request)


@router.get("/rulings")
def rulings(request: Request, supervisor: SupervisorUser) -> Response:
    """The old 退单审定 page: now one kind of the inbox."""
    return _to_inbox(request)


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
    key = f"extension:{request_id}"
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
        return _inbox_page(request, db, status=422, error=str(exc), error_key=key, typed=typed)
    except REFUSED as exc:
        return _inbox_page(request, db, status=422, error=refusal_zh(exc), error_key=key, typed=typed)
    return RedirectResponse(f"{INBOX}?r={request_id}", status_code=303)


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
    key = f"ruling:{case.number}"
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
        return _inbox_page(request, db, status=422, error="输入内容过长", error_key=key, typed=typed)
    except Refusal as exc:
        return _inbox_page(request, db, status=422, error=str(exc), error_key=key, typed=typed)
    except REFUSED as exc:
        return _inbox_page(request, db, status=422, error=refusal_zh(exc), error_key=key, typed=typed)
    return RedirectResponse(f"{INBOX}?{urlencode({'n': case.number, 'd': f.department_code})}", status_code=303)


@router.post("/inbox/reassign/{number}")
def reassign(
    request: Request,
    db: DbSession,
    supervisor: SupervisorUser,
    number: str,
    department_code: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    """改派 from the inbox (a case whose department asks for more time may belong elsewhere)."""
    case = get_case_by_number(db, number[:32])
    if case is None:
        raise HTTPException(404, "没有这个工单")
    typed = {"department_code": department_code[:32], "reason": reason[:500]}
    key = f"reassign:{case.number}"
    try:
        with db.begin_nested():
            f = ReassignForm(department_code=department_code, reason=reason)
            reassign_case(db, case, f.department_code, f.reason, supervisor.actor)
    except ValidationError:
        return _inbox_page(request, db, status=422, error="输入内容过长", error_key=key, typed=typed)
    except REFUSED as exc:
        return _inbox_page(request, db, status=422, error=refusal_zh(exc), error_key=key, typed=typed)
    return RedirectResponse(f"{INBOX}?{urlencode({'m': case.number, 'd': f.department_code})}", status_code=303)
