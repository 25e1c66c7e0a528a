"""`/supervisor/rules/versions`: every published version (who, when, why, what it was based on) with a
roll-back per earlier version (a note required; the old rules are published again as the newest version),
and `/supervisor/rules/diff?a=N&b=M` (b may be `draft`): what changed, rule by rule, in Chinese."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from agent_ui.auth import SupervisorUser
from agent_ui.supervisor.rule_labels import code_label
from agent_ui.templating import render
from intake.deps import DbSession
from routing.rule_diff import CHANGE_ZH, diff
from routing.rule_sets import draft, published, roll_back, rule_rows, spec_of, versions
from routing.rules import RulesError, RuleSetSpec

router = APIRouter(prefix="/supervisor/rules", include_in_schema=False)
DRAFT = "draft"


def _versions_page(request: Request, db: Session, *, error: str | None = None, status: int = 200) -> HTMLResponse:
    found = versions(db)
    counts = {v.version: len(rule_rows(db, v.id)) for v in found}
    return render(
        request,
        "supervisor/rule_versions.html",
        status_code=status,
        nav="rules",
        versions=found,
        counts=counts,
        newest=found[0].version if found else None,
        draft=draft(db),
        error=error,
    )


@router.get("/versions", response_class=HTMLResponse)
def versions_page(request: Request, db: DbSession, supervisor: SupervisorUser) -> HTMLResponse:
    return _versions_page(request, db)


@router.post("/versions/{version}/rollback")
def rollback(
    request: Request, db: DbSession, supervisor: SupervisorUser, version: int, note: Annotated[str, Form()] = ""
) -> Response:
    try:
        roll_back(db, version, editor=supervisor.actor, note=note[:2000])
    except RulesError as exc:
        db.rollback()
        return _versions_page(request, db, error=str(exc), status=422)
    return RedirectResponse("/supervisor/rules?done=rolled#current", status_code=303)


def _side(db: Session, raw: str) -> tuple[str, RuleSetSpec] | None:
    """One side of the diff: a version number or the draft, with its label."""
    raw = raw.strip()[:12]
    if raw == DRAFT:
        found = draft(db)
        return ("草稿", spec_of(db, found)) if found is not None else None
    if raw.removeprefix("v").isdigit():
        rule_set = published(db, int(raw.removeprefix("v")))
        return (f"v{rule_set.version}", spec_of(db, rule_set)) if rule_set is not None else None
    return None


@router.get("/diff", response_class=HTMLResponse)
def diff_page(request: Request, db: DbSession, supervisor: SupervisorUser, a: str = "", b: str = "") -> HTMLResponse:
    """Without a and b: the newest version against the one before it."""
    newest = published(db)
    if not a and not b and newest is not None and newest.version is not None:
        a, b = str(max(newest.version - 1, 1)), str(newest.version)
    old, new = _side(db, a), _side(db, b)
    context: dict[str, Any] = {"a": a[:12], "b": b[:12], "old": old, "new": new, "change_zh": CHANGE_ZH}
    if old is None or new is None:
        missing = a if old is None else b
        error = f"没有可比较的版本 {missing[:12]!s}" if missing else "请选择要比较的两个版本"
        return render(
            request, "supervisor/rule_diff.html", status_code=404 if missing else 200, nav="rules", changes=None,
            error=error, versions=versions(db), **context,
        )  # fmt: skip
    changes = diff(old[1], new[1], code_label)
    return render(
        request, "supervisor/rule_diff.html", nav="rules", changes=changes, error=None, versions=versions(db), **context
    )
