"""The case page's actions panel (`GET /console/cases/{number}/actions`, an htmx partial) and the posts
behind it: confirm-and-dispatch (with a corrected category and grid), re-dispatch, the lifecycle actions a
hotline agent may take, internal notes, 合并, and an SMS reply from the templates.

Each post calls one use case. A success answers with the refreshed panel and `HX-Trigger: case-changed`
(the rest of the case page reloads); a refusal answers 422 with a Chinese message, which console.js shows
in the form's message box without touching what the agent typed (without htmx: the panel again, with
the message and the typed values)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field, ValidationError
from sqlmodel import Session

from agent_ui.auth import AgentUser, Principal, SupervisorUser, reader
from agent_ui.templating import is_htmx, render
from agent_ui.workbench.action_reads import action_panel, plan_for, readable_case
from agent_ui.workbench.action_specs import HOTLINE_ACTIONS, refusal_zh
from cases.lifecycle import ACTION_LABELS_ZH, Action, IllegalTransition, reason_missing
from cases.merge import merge_case
from cases.models import Case
from cases.reference import InvalidInput, reference_names
from cases.service import apply_action
from cases.texts import SMS_REPLIES
from intake.deps import DbSession
from intake.telephony.replies import reply_by_sms
from routing.reassign import reassign_case
from routing.review import EXTENSION_DAYS, confirm_case, correct_case, dispatch_case, extend_case
from routing.rules import RulesError

router = APIRouter(prefix="/console/cases/{number}", include_in_schema=False)

REFUSED = (IllegalTransition, InvalidInput, RulesError)  # ReviewError, MergeRefused, ReplyRefused are InvalidInput


class Refusal(Exception):
    """A form the panel refuses before any use case runs (the message is for the agent)."""


class ConfirmForm(BaseModel):
    category_code: str = Field(default="", max_length=16)
    grid_code: str = Field(default="", max_length=15)
    department_code: str = Field(default="", max_length=32)
    reason: str = Field(default="", max_length=500)


class DispatchForm(BaseModel):
    department_code: str = Field(default="", max_length=32)
    reason: str = Field(default="", max_length=500)


class ActForm(BaseModel):
    action: str = Field(default="", max_length=16)
    reason: str = Field(default="", max_length=500)

    def lifecycle_action(self) -> Action:
        try:
            action = Action(self.action)
        except ValueError:
            raise Refusal("请选择要执行的操作") from None
        if action not in HOTLINE_ACTIONS:
            raise Refusal(f"“{ACTION_LABELS_ZH[action]}”不在热线坐席的操作范围内")
        if reason_missing(action, self.reason):
            raise Refusal(f"请填写{ACTION_LABELS_ZH[action]}的原因")
        return action


class ExtendForm(BaseModel):
    working_days: int = 0
    reason: str = Field(default="", max_length=500)


class NoteForm(BaseModel):
    text: str = Field(default="", max_length=2000)


class MergeForm(BaseModel):
    into: str = Field(default="", max_length=32)
    reason: str = Field(default="", max_length=500)


class ReplyForm(BaseModel):
    template: str = Field(default="", max_length=32)
    nonce: str = Field(default="", max_length=64)


def _case(db: Session, principal: Principal, number: str) -> Case:
    case = readable_case(db, reader(principal), number)
    if case is None:
        raise HTTPException(404, "没有这个工单，或您无权查看")
    return case


def _panel(
    request: Request,
    db: Session,
    case: Case,
    principal: Principal,
    *,
    status: int = 200,
    done: str | None = None,
    error: str | None = None,
    form: str | None = None,
    typed: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    return render(
        request,
        "workbench/_actions.html",
        status_code=status,
        headers=headers,
        panel=(shown := action_panel(db, case, principal.role)),
        plan=shown.plan,
        plan_error=shown.plan_error,
        number=case.number,
        done=done,
        error=error,
        error_form=form,
        typed=typed or {},
        nonce=uuid.uuid4().hex,
        extension_days=EXTENSION_DAYS,
        replies=[(key, label) for key, (label, _) in SMS_REPLIES.items()],
    )


def _act(
    request: Request,
    db: Session,
    case: Case,
    principal: Principal,
    *,
    form: str,
    typed: dict[str, str],
    run: Callable[[], str],
) -> Response:
    """Run one use case in a savepoint: done → the fresh panel; refused → 422 with the Chinese reason (and
    nothing of the refused attempt kept)."""
    try:
        with db.begin_nested():
            message = run()
    except ValidationError:
        return _refused(request, db, case, principal, "输入内容有误或过长，请检查后重试", form, typed)
    except Refusal as exc:
        return _refused(request, db, case, principal, str(exc), form, typed)
    except REFUSED as exc:
        return _refused(request, db, case, principal, refusal_zh(exc), form, typed)
    db.refresh(case)
    if not is_htmx(request):
        return RedirectResponse(f"/console/cases/{case.number}", status_code=303)
    return _panel(request, db, case, principal, done=message, headers={"HX-Trigger": "case-changed"})


def _refused(
    request: Request, db: Session, case: Case, principal: Principal, message: str, form: str, typed: dict[str, str]
) -> HTMLResponse:
    if is_htmx(request):  # the form stays as typed in the page; console.js shows this in its message box
        return render(request, "workbench/_refusal.html", status_code=422, error=message)
    db.refresh(case)
    return _panel(request, db, case, principal, status=422, error=message, form=form, typed=typed)


@router.get("/actions", response_class=HTMLResponse)
def panel(request: Request, db: DbSession, agent: AgentUser, number: str) -> HTMLResponse:
    return _panel(request, db, _case(db, agent, number), agent)


@router.get("/plan", response_class=HTMLResponse)
def plan(
    request: Request,
    db: DbSession,
    agent: AgentUser,
    number: str,
    category_code: str = "",
    department_code: str = "",
) -> HTMLResponse:
    """The dispatch preview for the edit form's current choice (before the agent presses 确认派遣)."""
    case = _case(db, agent, number)
    found, problem = plan_for(db, case, category_code[:16] or None, department_code[:32] or None)
    return render(request, "workbench/_plan.html", plan=found, plan_error=problem)


@router.post("/confirm")
def confirm(
    request: Request,
    db: DbSession,
    agent: AgentUser,
    number: str,
    category_code: Annotated[str, Form()] = "",
    grid_code: Annotated[str, Form()] = "",
    department_code: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    case = _case(db, agent, number)
    typed = {"category_code": category_code, "grid_code": grid_code, "department_code": department_code}
    typed["reason"] = reason

    def run() -> str:
        f = ConfirmForm(**typed)
        confirm_case(
            db,
            case,
            agent.actor,
            category_code=f.category_code or None,
            grid_code=f.grid_code or None,
            department_code=f.department_code or None,
            reason=f.reason.strip() or None,
        )
        return "已确认并派遣"

    return _act(request, db, case, agent, form="confirm", typed=typed, run=run)


@router.post("/correct")
def correct(
    request: Request,
    db: DbSession,
    agent: AgentUser,
    number: str,
    category_code: Annotated[str, Form()] = "",
    grid_code: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    case = _case(db, agent, number)
    typed = {"category_code": category_code, "grid_code": grid_code, "reason": reason}

    def run() -> str:
        f = ConfirmForm(**typed)
        if not f.category_code:
            raise Refusal("请先选择事项类别")
        correct_case(
            db, case, agent.actor, category_code=f.category_code, grid_code=f.grid_code or None, reason=f.reason or None
        )
        return "类别已更正"

    return _act(request, db, case, agent, form="correct", typed=typed, run=run)


@router.post("/dispatch")
def dispatch(
    request: Request,
    db: DbSession,
    agent: AgentUser,
    number: str,
    department_code: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    case = _case(db, agent, number)
    typed = {"department_code": department_code, "reason": reason}

    def run() -> str:
        f = DispatchForm(**typed)
        dispatch_case(db, case, agent.actor, department_code=f.department_code or None, reason=f.reason.strip() or None)
        return "已重新派遣"

    return _act(request, db, case, agent, form="dispatch", typed=typed, run=run)


@router.post("/act")
def act(
    request: Request,
    db: DbSession,
    agent: AgentUser,
    number: str,
    action: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    case = _case(db, agent, number)
    typed = {"action": action, "reason": reason}

    def run() -> str:
        f = ActForm(**typed)
        verb = f.lifecycle_action()
        apply_action(db, case, verb, agent.actor, reason=f.reason.strip() or None)
        return f"已{ACTION_LABELS_ZH[verb]}"

    return _act(request, db, case, agent, form=f"act-{action}", typed=typed, run=run)


@router.post("/extend")
def extend(
    request: Request,
    db: DbSession,
    agent: AgentUser,
    number: str,
    working_days: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    case = _case(db, agent, number)
    typed = {"working_days": working_days, "reason": reason}

    def run() -> str:
        if not working_days.isdigit():
            raise Refusal("请选择延期的工作日数")
        f = ExtendForm(working_days=int(working_days), reason=reason)
        if not f.reason.strip():
            raise Refusal("请填写延期的原因")
        extend_case(db, case, agent.actor, working_days=f.working_days, reason=f.reason)
        return f"处置期限已延长 {f.working_days} 个工作日"

    return _act(request, db, case, agent, form="extend", typed=typed, run=run)


@router.post("/reassign")
def reassign(
    request: Request,
    db: DbSession,
    supervisor: SupervisorUser,
    number: str,
    department_code: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    case = _case(db, supervisor, number)
    typed = {"department_code": department_code, "reason": reason}

    def run() -> str:
        f = DispatchForm(**typed)
        reassign_case(db, case, f.department_code, f.reason, supervisor.actor)
        return f"已改派至{reference_names().department(f.department_code) or f.department_code}"

    return _act(request, db, case, supervisor, form="reassign", typed=typed, run=run)


@router.post("/note")
def note(request: Request, db: DbSession, agent: AgentUser, number: str, text: Annotated[str, Form()] = "") -> Response:
    case = _case(db, agent, number)
    typed = {"text": text}

    def run() -> str:
        f = NoteForm(**typed)
        if not f.text.strip():
            raise Refusal("请填写备注内容")
        apply_action(db, case, Action.NOTE, agent.actor, reason=f.text.strip())
        return "备注已保存"

    return _act(request, db, case, agent, form="note", typed=typed, run=run)


@router.post("/merge")
def merge(
    request: Request,
    db: DbSession,
    agent: AgentUser,
    number: str,
    into: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    case = _case(db, agent, number)
    typed = {"into": into, "reason": reason}

    def run() -> str:
        f = MergeForm(**typed)
        target = readable_case(db, reader(agent), f.into.strip()) if f.into.strip() else None
        if target is None:
            raise Refusal("请填写要合并到的工单号（须为存在的工单）")
        if not f.reason.strip():
            raise Refusal("请填写合并的原因")
        merge_case(db, case, target, agent.actor, f.reason.strip())
        return f"已合并到工单 {target.number}"

    return _act(request, db, case, agent, form="merge", typed=typed, run=run)


@router.post("/reply")
def reply(
    request: Request,
    db: DbSession,
    agent: AgentUser,
    number: str,
    template: Annotated[str, Form()] = "",
    nonce: Annotated[str, Form()] = "",
) -> Response:
    case = _case(db, agent, number)
    typed: dict[str, Any] = {"template": template, "nonce": nonce}

    def run() -> str:
        f = ReplyForm(**typed)
        if f.template not in SMS_REPLIES:
            raise Refusal("请选择短信模板")
        reply_by_sms(db, case, f.template, agent.actor, nonce=f.nonce)
        return f"短信“{SMS_REPLIES[f.template][0]}”已发送"

    return _act(request, db, case, agent, form="reply", typed=typed, run=run)
