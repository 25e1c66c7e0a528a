"""`/supervisor/rules/backtest?days=30`: the shared draft of the rules replayed over the cases decided in the
last N days (`routing.backtest`), with the totals, each draft rule's matched and changed counts and the
changed cases, each linked to its case page. Without `days` the page offers the run; without a draft it
says so and offers nothing. A `days` that is no whole number from 1 to 90 is refused (400)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from agent_ui.auth import SupervisorUser
from agent_ui.templating import render
from cases.models import utcnow
from cases.reference import reference_names
from intake.deps import DbSession
from routing.backtest import MAX_DAYS, Backtest, Change, backtest
from routing.rule_sets import draft, spec_of
from routing.rules import GRADE_ZH, RULE_STATE_ZH, RulesError, RuleSetSpec, RuleState, check_catch_all

router = APIRouter(prefix="/supervisor", include_in_schema=False)

DEFAULT_DAYS = 30
TEMPLATE = "supervisor/backtest.html"
BAD_DAYS = f"回测天数须是 1 到 {MAX_DAYS} 之间的整数"


@dataclass(frozen=True)
class ChangedRow:
    """One changed case as the table shows it: before → after, in names."""

    number: str
    title: str
    old_department: str
    new_department: str
    old_grade: str
    new_grade: str
    old_hold: str
    new_hold: str
    rule: str
    department_changed: bool
    grade_changed: bool
    hold_changed: bool


def parse_days(raw: str | None) -> int | None:
    """The form's `days` (None: not given); ValueError for anything but a whole number 1–90."""
    if raw is None:
        return None
    value = raw.strip()
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= MAX_DAYS:
        raise ValueError(BAD_DAYS)
    return int(value)


def changed_rows(result: Backtest, spec: RuleSetSpec) -> list[ChangedRow]:
    names = reference_names()
    rule_names = {r.key: r.name for r in spec.rules}

    def dept(code: str | None) -> str:
        return (names.department(code) or code) if code else "（无）"

    def hold(value: bool) -> str:
        return "转人工确认" if value else "直接派遣"

    def row(c: Change) -> ChangedRow:
        rule = f"#{c.new_position}『{rule_names.get(c.new_rule or '', c.new_rule)}』" if c.new_rule else "无规则命中"
        return ChangedRow(
            number=c.number,
            title=c.title,
            old_department=dept(c.old_department),
            new_department=dept(c.new_department),
            old_grade=GRADE_ZH.get(c.old_grade, c.old_grade),
            new_grade=GRADE_ZH.get(c.new_grade, c.new_grade),
            old_hold=hold(c.old_hold),
            new_hold=hold(c.new_hold),
            rule=rule,
            department_changed=c.old_department != c.new_department,
            grade_changed=c.old_grade != c.new_grade,
            hold_changed=c.old_hold != c.new_hold,
        )

    return [row(c) for c in result.changes]


@router.get("/rules/backtest", response_class=HTMLResponse)
def page(request: Request, db: DbSession, supervisor: SupervisorUser, days: str | None = None) -> HTMLResponse:
    the_draft = draft(db)
    context: dict[str, Any] = {"nav": "rules", "draft": the_draft, "days": DEFAULT_DAYS, "max_days": MAX_DAYS}
    try:
        wanted = parse_days(days)
    except ValueError as exc:
        context["days"] = (days or "")[:8]
        return render(request, TEMPLATE, status_code=400, error=str(exc), **context)
    if the_draft is None:
        return render(request, TEMPLATE, **context)
    try:
        spec = spec_of(db, the_draft)
    except RulesError as exc:
        return render(request, TEMPLATE, status_code=422, error=f"草稿中有无法读取的规则：{exc}", **context)
    try:
        check_catch_all(spec.rules, "草稿")
        warning = None
    except RulesError as exc:
        warning = f"{exc}；没有规则命中的工单按“转人工确认”计。"
    context |= {"spec": spec, "warning": warning, "states": {s.value: RULE_STATE_ZH[s] for s in RuleState}}
    if wanted is None:
        return render(request, TEMPLATE, **context)
    result = backtest(db, spec, wanted, utcnow())
    context["days"] = wanted
    return render(request, TEMPLATE, result=result, changed=changed_rows(result, spec), **context)
