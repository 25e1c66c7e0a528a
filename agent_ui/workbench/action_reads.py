"""Read models of the case page's actions panel: the case as the reader may see it, what a dispatch would
do (the routing rules' department, the SLA policy's deadlines, read before anyone clicks), the classifier's top three,
and the choices of the edit form. Reads only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from agent_ui.accounts.roles import Role
from agent_ui.workbench.action_specs import HOTLINE_ROLES, ActionChoice, lifecycle_choices
from cases.access import Reader, readable_cases
from cases.lifecycle import TERMINAL, Action, CaseStatus, allowed_actions
from cases.models import Case, CaseEvent, Category, utcnow
from cases.queries import reporter_phone
from cases.reference import MATTER, reference_names
from cases.sanitize import has_unsafe
from cases.states import EventKind
from intake.telephony.models import SmsOptOut
from routing.clocks import planned_deadlines
from routing.decision_records import case_inputs
from routing.department import needs_ruling
from routing.reassign import reassignable
from routing.rules import RulesError, route
from routing.ruleset import routing_table

GRADES_ZH = {"normal": "一般", "urgent": "紧急", "critical": "特急"}


def readable_case(session: Session, reader: Reader, number: str) -> Case | None:
    """The case with this number if the reader may see it (the filter is in the query), else None."""
    if has_unsafe(number) or len(number) > 32:
        return None
    found: Case | None = session.exec(readable_cases(reader).where(col(Case.number) == number)).first()
    return found


@dataclass(frozen=True)
class Plan:
    """What a dispatch with this category would do now: a read of the routing rules (department, grade)
    and of the SLA policy (签收 deadline, the latest 办结 deadline)."""

    category_code: str
    department_code: str | None
    department_name: str | None
    grade: str
    dispatch_deadline: datetime
    handle_deadline: datetime
    rule_id: str | None

    @property
    def grade_zh(self) -> str:
        return GRADES_ZH.get(self.grade, self.grade)


def dispatch_plan(
    session: Session, case: Case, category_code: str | None, grade: str | None, department_code: str | None = None
) -> Plan | None:
    """None without a category. What the rules decide for the case with this category (as confirm_case
    routes it: the agent's choice is certain); a department named by the agent stands in for the rule's.
    A rule set that does not load raises RulesError."""
    if not category_code:
        return None
    inputs = case_inputs(session, case, category_code=category_code, grid_code=case.grid_code, grade=grade)
    d = route(routing_table(), inputs)
    department = department_code or d.department_code
    planned = planned_deadlines(category_code, d.grade, utcnow())
    return Plan(
        category_code,
        department,
        reference_names().department(department),
        d.grade,
        planned.sign_due,
        planned.handle_due,
        d.rule_id,
    )


@dataclass(frozen=True)
class Guess:
    key: str  # the shortcut: 1, 2, 3
    code: str
    name: str
    confidence: float
    department_name: str | None

    @property
    def percent(self) -> int:
        return round(self.confidence * 100)


def classifier_top3(session: Session, case: Case) -> list[Guess]:
    """The classifier's three best categories for the case, from its latest classify event."""
    ev = session.exec(
        select(CaseEvent)
        .where(CaseEvent.case_id == case.id, CaseEvent.action == EventKind.CLASSIFY.value)
        .order_by(col(CaseEvent.id).desc())
    ).first()
    raw = (ev.data.get("category_top3") if ev else None) or []
    names, guesses = reference_names(), list[Guess]()
    for item in raw[:3]:
        code, confidence = _pair(item)
        if code is None or names.category(code) is None:
            continue
        try:
            plan = dispatch_plan(session, case, code, None)
        except RulesError:
            plan = None
        department = plan.department_name if plan else None
        guesses.append(Guess(str(len(guesses) + 1), code, names.category(code) or code, confidence, department))
    return guesses


def _pair(item: Any) -> tuple[str | None, float]:
    """[code, confidence] as stored (or a mapping, should a later classifier store one)."""
    if isinstance(item, (list, tuple)) and len(item) >= 2:
        return str(item[0]), float(item[1] or 0)
    if isinstance(item, dict) and item.get("code"):
        return str(item["code"]), float(item.get("confidence") or 0)
    return None, 0.0


@dataclass(frozen=True)
class Choices:
    """The edit form's lists: matter categories grouped by major class, grids and departments with names."""

    categories: list[tuple[str, list[tuple[str, str]]]]
    grids: list[tuple[str, str]]
    departments: list[tuple[str, str]]


def edit_choices(session: Session) -> Choices:
    rows = session.exec(
        select(Category.major_code, Category.major_name, Category.code, Category.name)
        .where(Category.kind == MATTER, col(Category.active).is_(True))
        .order_by(col(Category.major_code), col(Category.code))
    ).all()
    groups: dict[str, tuple[str, list[tuple[str, str]]]] = {}
    for major_code, major_name, code, name in rows:
        groups.setdefault(major_code, (major_name or major_code, []))[1].append((code, name))
    names = reference_names()
    return Choices(
        categories=list(groups.values()),
        grids=[(code, g.name) for code, g in sorted(names.grids.items())],
        departments=sorted(((code, d.name) for code, d in names.departments.items() if d.active), key=lambda t: t[0]),
    )


@dataclass(frozen=True)
class Reach:
    """Whether an SMS reply can go to the reporter (the send checks again)."""

    has_phone: bool
    opted_out: bool


def sms_reach(session: Session, case: Case) -> Reach:
    assert case.id is not None
    phone = reporter_phone(session, case.id)
    if phone is None:
        return Reach(False, False)
    return Reach(True, session.get(SmsOptOut, phone) is not None)


def may(case: Case, action: Action) -> bool:
    return action in allowed_actions(case.status)


def held(case: Case) -> bool:
    """Waiting for an agent's confirmation (the pipeline held it): the 确认派遣 button."""
    return case.status == CaseStatus.REGISTERED.value and case.needs_review


@dataclass(frozen=True)
class Panel:
    """Everything the actions panel shows for one case and one person."""

    case: Case
    category_name: str | None
    grid_name: str | None
    department_name: str | None
    confirmable: bool  # registered: 确认派遣 (confirm_case), with the edit form
    redispatchable: bool  # 退单 / 重开: 重新派遣 (dispatch_case)
    awaiting_ruling: bool  # returned twice: only a supervisor's 审定 sends it on (routing.department)
    mergeable: bool
    extendable: bool
    reassignable: bool  # a department holds it and the reader is a supervisor: 改派 (routing.reassign)
    correctable: bool  # past confirmation, still open: 更正 without moving it (correct_case)
    plan: Plan | None
    plan_error: str | None
    top3: list[Guess]
    choices: Choices | None
    lifecycle: list[ActionChoice]
    reach: Reach


def action_panel(session: Session, case: Case, role: Role) -> Panel:
    names = reference_names()
    confirmable = case.status == CaseStatus.REGISTERED.value
    correctable = not confirmable and CaseStatus(case.status) not in TERMINAL
    awaiting_ruling = needs_ruling(case)
    redispatchable = may(case, Action.DISPATCH) and not confirmable and not awaiting_ruling
    plan, plan_error = plan_for(session, case, None, None) if confirmable or redispatchable else (None, None)
    return Panel(
        case=case,
        category_name=names.category(case.category_code),
        grid_name=names.grid(case.grid_code),
        department_name=names.department(case.department_code),
        confirmable=confirmable,
        redispatchable=redispatchable,
        awaiting_ruling=awaiting_ruling,
        mergeable=may(case, Action.MERGE),
        extendable=may(case, Action.EXTEND) and role in HOTLINE_ROLES,
        reassignable=role == Role.SUPERVISOR and reassignable(case),
        correctable=correctable,
        plan=plan,
        plan_error=plan_error,
        top3=classifier_top3(session, case) if confirmable else [],
        choices=edit_choices(session) if confirmable or redispatchable or correctable or reassignable(case) else None,
        lifecycle=lifecycle_choices(case.status, role),
        reach=sms_reach(session, case),
    )


def plan_for(
    session: Session, case: Case, category_code: str | None, department_code: str | None
) -> tuple[Plan | None, str | None]:
    """The preview for the edit form's current choice: (plan, problem). Like confirm_case, a changed
    category brings its own rule's grade."""
    category = category_code or case.category_code
    if category and reference_names().category(category, active_only=True) is None:
        return None, "事项类别不存在"
    if department_code and reference_names().department(department_code) is None:
        return None, "承办单位不存在"
    try:
        grade = case.grade if category == case.category_code else None
        return dispatch_plan(session, case, category, grade, department_code), None
    except RulesError:
        return None, "派遣规则配置有误，暂时无法预览派遣结果"
