"""改派: a supervisor moves a case a department holds (派遣, or 签收 and in 处置) to another department, with a
reason. The lifecycle move REASSIGN goes back to 派遣 for the new department: the transition observers
start its own 签收 clock (`routing.clocks`, a new round with today's SLA policy; the old department's clock
is cancelled and any 延期 request waiting on it ends) and notify it (`routing.notices`, as a 派遣). The event
names both departments and the reason, so the timeline says who had it and why it moved."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from cases.lifecycle import LABELS_ZH, TRANSITIONS, Action, CaseStatus
from cases.models import Case, CaseEvent
from cases.reference import InvalidInput, actor_id, check_department
from cases.service import apply_action
from routing.decision_records import case_inputs, record_decision
from routing.department import DepartmentRefusal, NotNow, lock_case
from routing.models import DecisionKind
from routing.rules import RoutingDecision

MAX_REASON = 500


class ReassignRefused(DepartmentRefusal):
    """改派 refused; the message is for the supervisor who asked."""


def reassignable(case: Case) -> bool:
    """Whether a department holds the case in a state 改派 applies to (派遣, 处置)."""
    return (CaseStatus(case.status), Action.REASSIGN) in TRANSITIONS


def reassign_case(
    session: Session,
    case: Case,
    department_code: str,
    reason: str,
    actor: str,
    *,
    now: datetime | None = None,
) -> CaseEvent:
    """改派 the case to `department_code` (a supervisor's decision, with a reason). Flushes; the caller commits."""
    who = actor_id(actor, default_kind="supervisor")
    if who.partition(":")[0] != "supervisor":
        raise ReassignRefused("只有班长（值班长）可以改派工单")
    lock_case(session, case)
    if not reassignable(case):
        raise NotNow(f"当前状态为“{LABELS_ZH[CaseStatus(case.status)]}”，只有已派遣或处置中的工单可以改派")
    code = (department_code or "").strip()
    if not code:
        raise ReassignRefused("请选择改派到的承办单位")
    text = (reason or "").strip()
    if not text:
        raise ReassignRefused("请填写改派的原因")
    if len(text) > MAX_REASON:
        raise ReassignRefused(f"改派原因过长（最多{MAX_REASON}字）")
    if code == case.department_code:
        raise ReassignRefused("工单已在该单位办理，请选择另一个承办单位")
    try:
        check_department(session, code)
    except InvalidInput:
        raise ReassignRefused("承办单位不存在或已停用，请从列表中选择") from None
    before = case.department_code
    event = apply_action(
        session,
        case,
        Action.REASSIGN,
        who,
        reason=text,
        at=now,
        data={"from_department": before, "to_department": code},
        department_code=code,
    )
    # A decision of its own (no rule): the case page says who sent it where and why.
    inputs = case_inputs(
        session, case, category_code=case.category_code or "", grid_code=case.grid_code, grade=case.grade
    )
    decision = RoutingDecision(
        department_code=code, grade=case.grade, rule_id=None, auto_dispatch=True, reasons=[text], confidence=1.0
    )
    record_decision(session, case, decision, inputs, held=False, kind=DecisionKind.REASSIGN, actor=who, at=event.at)
    session.flush()
    return event
