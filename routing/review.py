"""Agents' confirmation queue, and dispatching a case by the routing rules.

`confirm_case` is the use case behind the console's (and the CLI's) "confirm / correct and dispatch":
it checks what the agent typed against the reference data, routes with the category the agent settled
on, dispatches, and keeps the decision as a labelled example so the next model learns from it — all in
one transaction. `dispatch_case` is every dispatch after the pipeline's first one (re-dispatch after
退单 or 重开). Neither computes a deadline: the dispatch starts the case's 签收 clock (`routing.clocks`),
which counts the SLA policy's limits from the moment of dispatch, never kept from an earlier round.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from cases.lifecycle import TERMINAL, Action, CaseStatus, next_status
from cases.models import Case, utcnow
from cases.queries import case_reports
from cases.reference import ACTOR_KINDS, InvalidInput, actor_id, check_category, check_department, check_grid
from cases.service import apply_action, record_event
from cases.states import EventKind
from classifiers.training.corrections import record_correction
from routing.conditions import RoutingInputs
from routing.decision_records import case_inputs, dispatch_data, record_decision
from routing.department import extension_history, needs_ruling
from routing.models import DecisionKind, ExtensionState
from routing.rules import GRADES, RoutingDecision, route
from routing.ruleset import routing_table


class ReviewError(InvalidInput):
    """The confirmation or dispatch cannot be carried out as asked (the message says why, for a person)."""


@dataclass(frozen=True)
class DispatchPlan:
    department_code: str
    decision: RoutingDecision
    inputs: RoutingInputs
    chosen: bool  # a person named the department over the rules'


def review_queue(session: Session, limit: int = 100) -> list[Case]:
    return list(
        session.exec(
            select(Case)
            .where(col(Case.needs_review).is_(True), Case.status == CaseStatus.REGISTERED.value)
            .order_by(col(Case.created_at))
            .limit(limit)
        )
    )


def _plan(
    session: Session,
    case: Case,
    category: str,
    *,
    grid_code: str | None,
    department_code: str | None,
    grade: str | None,
) -> DispatchPlan:
    """Everything a dispatch needs, checked, before anything is changed: the rules' decision for the
    category a person chose (certain, so no confidence gate), or the department they named."""
    if grade is not None and grade not in GRADES:
        raise ReviewError(f"grade must be one of {', '.join(GRADES)}, not {grade!r}")
    if department_code is not None:
        check_department(session, department_code)
    inputs = case_inputs(session, case, category_code=category, grid_code=grid_code, grade=grade)
    decision = route(routing_table(), inputs)
    department = department_code or decision.department_code
    if department is None:
        raise ReviewError(f"no routing rule for category {category}: name a department")
    return DispatchPlan(department, decision, inputs, chosen=department != decision.department_code)


def _dispatch(
    session: Session,
    case: Case,
    actor: str,
    plan: DispatchPlan,
    reason: str | None,
    data: dict[str, Any] | None = None,
) -> None:
    d = plan.decision
    if plan.chosen:  # the person's department, not the rule's: no rule's policy or notices either
        d = replace(d, department_code=plan.department_code, sla_policy=None, notify=(), tags=())
    d = replace(d, auto_dispatch=True, low_confidence=False)
    record = record_decision(session, case, d, plan.inputs, held=False, kind=DecisionKind.CONFIRM, actor=actor)
    if plan.chosen:
        record.outcome = record.outcome | {"chosen_by": actor}
    apply_action(
        session,
        case,
        Action.DISPATCH,
        actor,
        reason=reason or (f"坐席指定承办单位 {plan.department_code}" if plan.chosen else d.summary()),
        data=dispatch_data(d, record.id) | (data or {}),
        department_code=plan.department_code,
        grade=d.grade,
    )


def dispatch_case(
    session: Session,
    case: Case,
    actor: str,
    *,
    department_code: str | None = None,
    grade: str | None = None,
    reason: str | None = None,
    data: dict[str, Any] | None = None,
) -> Case:
    """Dispatch (or re-dispatch) a case to the department the rules name for its category (or the one
    given); its 签收 clock starts with the SLA policy's limits. The caller commits. A case held for
    confirmation goes through `confirm_case` instead; a case returned twice waits for a supervisor's
    审定 (`routing.department.rule_on_return`)."""
    actor = actor_id(actor, kinds=ACTOR_KINDS)
    next_status(case.status, Action.DISPATCH)  # IllegalTransition before any other complaint
    if needs_ruling(case):
        raise ReviewError(f"工单{case.number}已退单{case.return_count}次，须由班长审定承办单位，不能直接派遣")
    if case.needs_review:
        raise ReviewError(f"case {case.number} waits for an agent's confirmation: confirm it instead")
    if case.category_code is None:
        raise ReviewError("a category is needed to dispatch")
    plan = _plan(
        session,
        case,
        case.category_code,
        grid_code=case.grid_code,
        department_code=department_code,
        grade=grade or case.grade,
    )
    _dispatch(session, case, actor, plan, reason, data)
    return case


def _settle_tags(session: Session, case: Case, actor: str, category: str, grid: str | None, reason: str | None) -> bool:
    """Record the agent's category and grid: a labelled example for the next model, the confirm/correct
    event, the case's tags. Returns whether anything changed."""
    corrected = category != case.category_code or grid != case.grid_code
    report = next(iter(case_reports(session, case.id)), None)
    if report is not None and report.text.strip():
        record_correction(
            session,
            report.text,
            category,
            actor,
            grid_code=grid,
            source="correction" if corrected else "confirm",
            case_id=case.id,
        )
    record_event(
        session,
        case,
        EventKind.CORRECT if corrected else EventKind.CONFIRM,
        actor,
        reason=reason,
        data={
            "category_code": [case.category_code, category],
            "grid_code": [case.grid_code, grid],
        },
    )
    case.category_code, case.grid_code = category, grid
    if corrected:
        case.category_confidence = case.grid_confidence = 1.0
        case.grid_source = "agent"
    return corrected


def confirm_case(
    session: Session,
    case: Case,
    actor: str,
    *,
    category_code: str | None = None,
    grid_code: str | None = None,
    department_code: str | None = None,
    grade: str | None = None,
    reason: str | None = None,
    allow_no_grid: bool = False,
) -> Case:
    """Confirm (or correct) a held case's tags and dispatch it. The caller commits.

    Category, grid and department are checked against the reference data. A case is not dispatched
    without a grid (the department would not know where to go) unless `allow_no_grid` says the agent
    meant it (a matter with no place, a transfer to another hotline)."""
    actor = actor_id(actor, kinds=ACTOR_KINDS)
    if case.status != CaseStatus.REGISTERED.value:
        raise ReviewError(f"case {case.number} is {case.status}, only a registered case can be confirmed")
    category = category_code or case.category_code
    grid = grid_code or case.grid_code
    if category is None:
        raise ReviewError("a category is needed to dispatch")
    check_category(session, category)
    if grid is not None:
        check_grid(session, grid)
    elif not allow_no_grid:
        raise ReviewError("no grid: name the grid, or allow dispatch without one explicitly")
    # A corrected category brings its own rule's grade; otherwise the grade the case has.
    plan = _plan(
        session,
        case,
        category,
        grid_code=grid,
        department_code=department_code,
        grade=grade or (case.grade if category == case.category_code else None),
    )

    _settle_tags(session, case, actor, category, grid, reason)
    case.needs_review = False
    _dispatch(session, case, actor, plan, reason)
    session.flush()
    return case


EXTENSION_DAYS = (1, 2, 3, 5, 10)  # what a hotline agent may grant at once, in working days


def extend_case(session: Session, case: Case, actor: str, *, working_days: int, reason: str) -> Case:
    """延期 granted by a hotline agent directly: the running clock gets `working_days` added to what it has
    left (an overdue one gets them from now: an extension never lands in the past), and the case's
    deadline moves with it (`routing.clocks`). The caller commits."""
    actor = actor_id(actor, kinds=ACTOR_KINDS)
    next_status(case.status, Action.EXTEND)  # IllegalTransition before any other complaint
    if working_days not in EXTENSION_DAYS:
        raise ReviewError(f"an extension is one of {EXTENSION_DAYS} working days, not {working_days}")
    if not reason.strip():
        raise ReviewError("an extension needs a reason")
    if any(r.state == ExtensionState.PENDING.value for r in extension_history(session, case.id)):
        raise ReviewError("该工单有待审批的延期申请，请由班长在延期审批中处理")
    apply_action(
        session,
        case,
        Action.EXTEND,
        actor,
        reason=reason.strip(),
        data={"working_days": working_days, "previous_handle_deadline": _iso(case.handle_deadline)},
    )
    session.flush()
    return case


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def correct_case(
    session: Session,
    case: Case,
    actor: str,
    *,
    category_code: str,
    grid_code: str | None = None,
    reason: str | None = None,
) -> Case:
    """Correct the tags of a case already past confirmation (a department returned it as not theirs, a
    reopened case was filed under the wrong matter), without moving it: the next dispatch routes with the
    corrected category. Kept as a labelled example like a confirmation. A held case is confirmed with
    `confirm_case` instead, which dispatches. The caller commits."""
    actor = actor_id(actor, kinds=ACTOR_KINDS)
    if CaseStatus(case.status) in TERMINAL:
        raise ReviewError(f"case {case.number} is {case.status}: a closed matter is not re-tagged")
    if case.status == CaseStatus.REGISTERED.value:
        raise ReviewError(f"case {case.number} waits for an agent's confirmation: confirm it instead")
    grid = grid_code or case.grid_code
    check_category(session, category_code)
    if grid is not None:
        check_grid(session, grid)
    if category_code == case.category_code and grid == case.grid_code:
        raise ReviewError("nothing to correct: the category and grid are unchanged")
    _settle_tags(session, case, actor, category_code, grid, reason)
    case.updated_at = utcnow()
    session.add(case)
    session.flush()
    return case
