"""Agents' confirmation queue: cases the pipeline held because it was not sure enough.

`confirm_case` is the use case behind the console's (and the CLI's) "confirm / correct and dispatch":
it routes with the category the agent settled on, dispatches, and keeps the decision as a labelled
example so the next model learns from it — all in one transaction.
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from cases.lifecycle import Action, CaseStatus
from cases.models import Case, Grid, Report, utcnow
from cases.service import apply_action, record_event
from classifiers.corrections import record_correction
from routing.pipeline import routing_table
from routing.rules import GRADES, route


class ReviewError(ValueError):
    """The confirmation cannot be carried out as asked (the message says why, for a person)."""


def review_queue(session: Session, limit: int = 100) -> list[Case]:
    return list(
        session.exec(
            select(Case)
            .where(col(Case.needs_review).is_(True), Case.status == CaseStatus.REGISTERED.value)
            .order_by(col(Case.created_at))
            .limit(limit)
        )
    )


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
) -> Case:
    """Confirm (or correct) a held case's tags and dispatch it. Commits."""
    if case.status != CaseStatus.REGISTERED.value:
        raise ReviewError(f"case {case.number} is {case.status}, only a registered case can be confirmed")
    category = category_code or case.category_code
    grid = grid_code or case.grid_code
    if category is None:
        raise ReviewError("a category is needed to dispatch")
    if grid is not None and session.get(Grid, grid) is None:
        raise ReviewError(f"unknown grid {grid}")
    if grade is not None and grade not in GRADES:
        raise ReviewError(f"grade must be one of {', '.join(GRADES)}")
    decision = route(routing_table(), category, utcnow(), grade=grade or case.grade)
    department = department_code or decision.department_code
    if department is None:
        raise ReviewError(f"no routing rule for category {category}: name a department")

    corrected = category != case.category_code or grid != case.grid_code
    report = session.exec(select(Report).where(Report.case_id == case.id).order_by(col(Report.id))).first()
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
        "correct" if corrected else "confirm",
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
    case.needs_review = False
    apply_action(
        session,
        case,
        Action.DISPATCH,
        actor,
        reason=reason or "; ".join(decision.reasons),
        department_code=department,
        grade=decision.grade,
        dispatch_deadline=decision.dispatch_deadline,
        handle_deadline=decision.handle_deadline,
    )
    session.commit()
    return case
