"""`/supervisor/rules/draft/rule/new` and `/supervisor/rules/draft/rule/{rule_key}`: one rule of the draft
in a form — name, state, expiry, conditions as rows under 全部满足 / 任一满足 (nested groups as JSON in the
advanced box), and the actions. A refused rule comes back in the form as typed, with the Chinese reason,
status 422. Saving is `routing.rule_drafts.save_rule`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel
from sqlmodel import Session

from agent_ui.auth import SupervisorUser
from agent_ui.supervisor.decisions import departments
from agent_ui.supervisor.rule_form import FormProblem, RuleFormData, form_from_post, form_of, rule_json
from agent_ui.supervisor.rule_labels import field_choices, grade_choices, op_choices, state_choices
from agent_ui.templating import render
from intake.deps import DbSession
from routing import rule_drafts
from routing.rule_sets import draft, known_codes
from routing.rules import RulesError

router = APIRouter(prefix="/supervisor/rules/draft/rule", include_in_schema=False)
RULES = "/supervisor/rules"


def _form_page(
    request: Request,
    db: Session,
    form: RuleFormData,
    *,
    editing: str | None,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "supervisor/rule_form.html",
        status_code=status,
        nav="rules",
        form=form,
        editing=editing,
        error=error,
        departments=departments(),
        sla_policies=sorted(known_codes(db).sla_policies),
        fields=field_choices(),
        ops=op_choices(),
        grades=grade_choices(),
        states=state_choices(),
    )


def _no_draft() -> RedirectResponse:
    return RedirectResponse(f"{RULES}#draft", status_code=303)


@router.get("/new", response_class=HTMLResponse)
def new_rule(request: Request, db: DbSession, supervisor: SupervisorUser) -> Response:
    if draft(db) is None:
        return _no_draft()
    return _form_page(request, db, RuleFormData(), editing=None)


@router.get("/{rule_key}", response_class=HTMLResponse)
def edit_rule(request: Request, db: DbSession, supervisor: SupervisorUser, rule_key: str) -> Response:
    found = draft(db)
    if found is None:
        return _no_draft()
    rule = next((r for r in rule_drafts.draft_rules(db, found) if r.key == rule_key), None)
    if rule is None:
        return _no_draft()
    return _form_page(request, db, form_of(rule), editing=rule.key)


def _save(request: Request, db: Session, editing: str | None, posted: dict[str, Any]) -> Response:
    form = form_from_post(posted)
    try:
        raw = rule_json(form)
        rule_drafts.save_rule(db, rule_drafts.require_draft(db), editing, raw)
    except (FormProblem, RulesError) as exc:
        db.rollback()
        return _form_page(request, db, form, editing=editing, error=str(exc), status=422)
    return RedirectResponse(f"{RULES}?done=saved#draft", status_code=303)


class RulePost(BaseModel):
    """The rule form as posted: text only (lengths are cut by `form_from_post`, so nothing here refuses
    with a bare validation error instead of the form)."""

    rule_key: str = ""
    name: str = ""
    state: str = "active"
    expires_on: str = ""
    cond_mode: str = "all"
    cond_field: list[str] = []
    cond_op: list[str] = []
    cond_value: list[str] = []
    cond_json: str = ""
    department: str = ""
    grade: str = ""
    sla_policy: str = ""
    dispatch: str = "dispatch"
    require_check: str = ""
    notify: str = ""
    tags: str = ""


Posted = Annotated[RulePost, Form()]


@router.post("/check", response_class=HTMLResponse)
def check_rule(
    request: Request,
    db: DbSession,
    supervisor: SupervisorUser,
    posted: Posted,
    editing: Annotated[str, Form()] = "",
) -> HTMLResponse:
    """The form's inline check (htmx, on every change): what saving would say, nothing saved. Always 200,
    so htmx shows the answer in place; saving checks again."""
    key = editing[:64] or None
    fields = posted.model_dump()
    if key is not None:
        fields["rule_key"] = fields["rule_key"].strip() or key
    error: str | None = None
    problems: tuple[str, ...] = ()
    try:
        problems = rule_drafts.check_rule(db, rule_drafts.require_draft(db), key, rule_json(form_from_post(fields)))
    except (FormProblem, RulesError) as exc:
        error = str(exc)
    return render(request, "supervisor/_rule_check.html", error=error, problems=problems, checked=True)


@router.post("/new")
def create_rule(request: Request, db: DbSession, supervisor: SupervisorUser, posted: Posted) -> Response:
    return _save(request, db, None, posted.model_dump())


@router.post("/{rule_key}")
def update_rule(request: Request, db: DbSession, supervisor: SupervisorUser, rule_key: str, posted: Posted) -> Response:
    """Save rule `rule_key` of the draft; the form's key renames it (blank: it keeps its key)."""
    editing = rule_key[:64]
    fields = posted.model_dump()
    fields["rule_key"] = fields["rule_key"].strip() or editing
    return _save(request, db, editing, fields)
