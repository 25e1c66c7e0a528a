"""Kernel use cases on a Case: open it with a public number, and apply lifecycle actions.

These functions change rows and append CaseEvents in the caller's transaction; the caller commits.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlmodel import Session, col, select

from cases import hooks
from cases.jobs import enqueue_after_commit
from cases.lifecycle import Action, CaseStatus, next_status
from cases.logcontext import bind_ids
from cases.models import Case, CaseCounter, CaseEvent, utcnow
from cases.reference import InvalidInput, actor_id, check_category, check_department, check_grid
from cases.sanitize import has_unsafe
from cases.settings import kernel_settings
from cases.states import EventKind


def next_case_number(session: Session, now: datetime | None = None) -> str:
    """12319-YYYYMMDD-000123: the day in city time plus a per-day sequence. Safe under concurrency:
    the counter row is bumped with an UPDATE that holds its row lock until commit."""
    settings = kernel_settings()
    day = (now or utcnow()).astimezone(ZoneInfo(settings.timezone)).strftime("%Y%m%d")
    bumped = session.execute(
        update(CaseCounter)
        .where(col(CaseCounter.day) == day)
        .values(last=col(CaseCounter.last) + 1)
        .returning(col(CaseCounter.last))
    ).scalar_one_or_none()
    if bumped is None:
        # First case of the day. A concurrent first insert loses on the primary key and retries.
        from sqlalchemy.exc import IntegrityError

        try:
            with session.begin_nested():
                session.add(CaseCounter(day=day, last=1))
            bumped = 1
        except IntegrityError:
            return next_case_number(session, now)
    return f"{settings.case_number_prefix}-{day}-{bumped:06d}"


def record_event(
    session: Session,
    case: Case,
    action: Action | EventKind,
    actor: str,
    *,
    from_status: str | None = None,
    to_status: str | None = None,
    reason: str | None = None,
    data: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> CaseEvent:
    if case.id is None:
        session.flush()
    assert case.id is not None
    ev = CaseEvent(
        case_id=case.id,
        actor=actor_id(actor),
        action=str(action),
        from_status=from_status,
        to_status=to_status,
        reason=reason,
        data=data or {},
    )
    if at is not None:
        ev.at = at
    session.add(ev)
    return ev


def open_case(session: Session, *, actor: str, title: str = "", **fields: Any) -> Case:
    """Create a case in status 上报 with its first event."""
    case = Case(number=next_case_number(session), title=title[:200], **fields)
    session.add(case)
    session.flush()
    record_event(session, case, EventKind.OPEN, actor, to_status=CaseStatus.REPORTED.value, data={"title": title[:200]})
    return case


def apply_action(
    session: Session,
    case: Case,
    action: Action | str,
    actor: str,
    *,
    reason: str | None = None,
    data: dict[str, Any] | None = None,
    at: datetime | None = None,
    **changes: Any,
) -> CaseEvent:
    """Move a case by one action of the lifecycle table and record it. An illegal move raises
    IllegalTransition, and a change naming a category, grid or department the reference data does not
    have raises InvalidInput, before anything is changed. `changes` are set on the case (department,
    grade). `at` is the moment of the move (default: now; a use case given a controlled clock passes it).

    The deadlines are not the mover's business: the transition observers (`cases.hooks.on_transition`;
    the SLA clocks of `routing.clocks`) start, pause and stop the clocks of the move in the same
    transaction and set the case's deadline columns from them."""
    bind_ids(case_id=case.id)  # this request's or job's later log lines are about this case
    before = case.status
    after = next_status(before, action)
    actor = actor_id(actor)
    for key in changes:
        if not hasattr(case, key):
            raise AttributeError(f"Case has no field {key!r}")
    _check_changes(session, changes)
    dispatching = Action(action) in (Action.DISPATCH, Action.RULE, Action.REASSIGN)
    if dispatching and (changes.get("department_code") or case.department_code) is None:
        raise InvalidInput("a dispatch needs a department")
    for key, value in changes.items():
        setattr(case, key, value)
    case.status = after.value
    case.updated_at = at or utcnow()
    if after == CaseStatus.CLOSED:
        case.closed_at = case.updated_at
    session.add(case)
    if after.value != before:
        for job in hooks.listeners(after.value):
            enqueue_after_commit(session, job, case.id)
    payload = dict(data or {})
    payload.update({k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in changes.items()})
    event = record_event(
        session,
        case,
        Action(action),
        actor,
        from_status=before,
        to_status=after.value,
        reason=reason,
        data=payload,
        at=case.updated_at,
    )
    for observer in hooks.observers():
        observer(session, case, event)
    return event


_CHECKS = {"category_code": check_category, "grid_code": check_grid, "department_code": check_department}


def _check_changes(session: Session, changes: dict[str, Any]) -> None:
    for key, check in _CHECKS.items():
        value = changes.get(key)
        if value is not None:
            check(session, value)


def timeline(session: Session, case: Case) -> list[CaseEvent]:
    return list(
        session.exec(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.at, CaseEvent.id))  # type: ignore[arg-type]
    )


def get_case_by_number(session: Session, number: str) -> Case | None:
    if has_unsafe(number):  # no number holds one; PostgreSQL would refuse the query
        return None
    return session.exec(select(Case).where(Case.number == number)).first()
