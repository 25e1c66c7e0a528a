"""`/supervisor/rules`: the routing rules that route now (their version, and each rule in words with its
hits per day and shadow would-have-matched counts), and the shared draft of the next version with every
problem inline, with the draft's buttons: new draft, enable / shadow / disable, move, duplicate, delete,
settings, discard, publish with a note. Each post calls one use case of `routing.rule_drafts` and
redirects back to the list with a fixed notice code (the rule form is `rule_editor`, versions and the
diff are `rule_versions`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from agent_ui.auth import SupervisorUser
from agent_ui.supervisor.rule_hits import rule_hits, sparkline
from agent_ui.supervisor.rule_labels import code_label, grade_choices
from agent_ui.templating import render
from cases.models import utcnow
from intake.deps import DbSession
from routing import rule_drafts
from routing.models import RuleSet
from routing.rule_checks import Problems
from routing.rule_diff import CHANGE_ZH, diff
from routing.rule_drafts import Direction
from routing.rule_sets import draft, published, spec_of
from routing.rule_stats import RuleStats
from routing.rule_words import describe_actions, describe_condition
from routing.rules import RULE_STATE_ZH, RulesError, RuleSetSpec, RuleState

router = APIRouter(prefix="/supervisor/rules", include_in_schema=False)
RULES = "/supervisor/rules"

NOTICES = {
    "opened": "已新建草稿（复制自当前版本）。草稿发布前不影响派遣。",
    "saved": "规则已保存到草稿。",
    "state": "规则状态已修改。",
    "moved": "规则顺序已调整。",
    "duplicated": "已复制规则（副本默认停用）。",
    "deleted": "已从草稿中删除规则。",
    "settings": "草稿设置已保存。",
    "discarded": "草稿已放弃。",
    "published": "已发布为新版本，运行中的服务将在数秒内按新规则派遣。",
    "rolled": "已回滚：旧版本已复制为新版本发布。",
}
FIELD_LIMIT = 64


def rule_rows(spec: RuleSetSpec, problems: Problems | None, hits: dict[str, RuleStats]) -> list[dict[str, Any]]:
    """What the list shows of each rule, in order."""
    today = utcnow().date()
    rows = []
    for i, rule in enumerate(spec.rules, start=1):
        stats = hits.get(rule.key)
        rows.append(
            {
                "position": i,
                "rule": rule,
                "when": describe_condition(rule.when, code_label),
                "then": describe_actions(rule.then, code_label),
                "state_zh": RULE_STATE_ZH[rule.state],
                "expired": rule.expires_on is not None and rule.expires_on < today,
                "problems": problems.by_rule.get(rule.key, ()) if problems is not None else (),
                "stats": stats,
                "spark": sparkline(stats.hits_by_day) if stats is not None else "",
            }
        )
    return rows


def _context(db: Session, version: int | None) -> dict[str, Any]:
    now = utcnow()
    shown = published(db, version) if version is not None else None
    current = shown or published(db)
    current_spec = spec_of(db, current) if current is not None else None
    the_draft = draft(db)
    view = rule_drafts.draft_view(db, the_draft) if the_draft is not None else None
    keys = {r.key for r in current_spec.rules} if current_spec else set()
    if view is not None:
        keys |= {r.key for r in view.spec.rules}
    hits = rule_hits(db, sorted(keys), now)
    changes = diff(current_spec, view.spec, code_label) if current_spec is not None and view is not None else []
    return {
        "nav": "rules",
        "current": current,
        "newest": published(db),
        "current_rows": rule_rows(current_spec, None, hits) if current_spec else [],
        "current_spec": current_spec,
        "draft": the_draft,
        "draft_view": view,
        "draft_rows": rule_rows(view.spec, view.problems, hits) if view is not None else [],
        "changes": changes,
        "change_zh": CHANGE_ZH,
        "states": [(s.value, RULE_STATE_ZH[s]) for s in RuleState],
        "grades": grade_choices(),
    }


def rules_page(
    request: Request, db: Session, *, version: int | None = None, error: str | None = None, status: int = 200
) -> HTMLResponse:
    notice = NOTICES.get(request.query_params.get("done", "")) if status == 200 else None
    return render(
        request,
        "supervisor/rules.html",
        status_code=status,
        error=error,
        notice=notice,
        **_context(db, version),
    )


def _back(done: str, anchor: str = "draft") -> RedirectResponse:
    return RedirectResponse(f"{RULES}?done={done}#{anchor}", status_code=303)


def _version_param(value: str) -> int | None:
    value = value.strip()
    return int(value) if value.isdigit() and len(value) <= 9 else None


@router.get("", response_class=HTMLResponse)
def rules(request: Request, db: DbSession, supervisor: SupervisorUser, version: str = "") -> HTMLResponse:
    return rules_page(request, db, version=_version_param(version))


@router.post("/draft")
def open_draft(request: Request, db: DbSession, supervisor: SupervisorUser) -> Response:
    rule_drafts.open_draft(db, supervisor.actor)
    return _back("opened")


def _refused(request: Request, db: Session, exc: RulesError) -> HTMLResponse:
    db.rollback()
    return rules_page(request, db, error=str(exc), status=422)


def _on_draft(
    request: Request, db: Session, change: Callable[[RuleSet], object], done: str, anchor: str = "draft"
) -> Response:
    """One change to the shared draft: back to the list with its notice, or the list with the refusal."""
    try:
        change(rule_drafts.require_draft(db))
    except RulesError as exc:
        return _refused(request, db, exc)
    return _back(done, anchor)


def _state(value: str) -> RuleState:
    if value not in set(RuleState):
        raise RulesError("状态只能是 生效、影子 或 停用")
    return RuleState(value)


def _move_to(direction: str, position: str) -> Direction | int:
    if direction == "up":
        return "up"
    if direction == "down":
        return "down"
    position = position.strip()
    if direction == "to" and position.isdigit() and len(position) <= 4:
        return int(position)
    raise RulesError("请选择上移、下移，或填写要移到的位置")


def _threshold(value: str) -> float:
    try:
        return float(value.strip()[:20])
    except ValueError:
        raise RulesError("派遣置信度门槛须是 0 到 1 之间的数") from None


@router.post("/draft/rule/{rule_key}/state")
def set_state(
    request: Request, db: DbSession, supervisor: SupervisorUser, rule_key: str, state: Annotated[str, Form()] = ""
) -> Response:
    key = rule_key[:FIELD_LIMIT]
    return _on_draft(request, db, lambda d: rule_drafts.set_state(db, d, key, _state(state)), "state")


@router.post("/draft/rule/{rule_key}/move")
def move(
    request: Request,
    db: DbSession,
    supervisor: SupervisorUser,
    rule_key: str,
    direction: Annotated[str, Form()] = "",
    position: Annotated[str, Form()] = "",
) -> Response:
    key = rule_key[:FIELD_LIMIT]
    return _on_draft(request, db, lambda d: rule_drafts.move(db, d, key, _move_to(direction, position)), "moved")


@router.post("/draft/rule/{rule_key}/duplicate")
def duplicate(request: Request, db: DbSession, supervisor: SupervisorUser, rule_key: str) -> Response:
    key = rule_key[:FIELD_LIMIT]
    return _on_draft(request, db, lambda d: rule_drafts.duplicate(db, d, key), "duplicated")


@router.post("/draft/rule/{rule_key}/delete")
def delete(request: Request, db: DbSession, supervisor: SupervisorUser, rule_key: str) -> Response:
    key = rule_key[:FIELD_LIMIT]
    return _on_draft(request, db, lambda d: rule_drafts.delete_rule(db, d, key), "deleted")


@router.post("/draft/settings")
def settings(
    request: Request,
    db: DbSession,
    supervisor: SupervisorUser,
    default_grade: Annotated[str, Form()] = "",
    min_decision_confidence: Annotated[str, Form()] = "",
) -> Response:
    def change(d: RuleSet) -> None:
        rule_drafts.set_settings(db, d, default_grade[:16], _threshold(min_decision_confidence))

    return _on_draft(request, db, change, "settings")


@router.post("/draft/discard")
def discard(request: Request, db: DbSession, supervisor: SupervisorUser) -> Response:
    return _on_draft(request, db, lambda d: rule_drafts.discard(db, d), "discarded", "current")


@router.post("/draft/publish")
def publish(request: Request, db: DbSession, supervisor: SupervisorUser, note: Annotated[str, Form()] = "") -> Response:
    try:
        rule_drafts.publish_draft(db, supervisor.actor, note[:2000])
    except RulesError as exc:
        return _refused(request, db, exc)
    return _back("published", "current")
