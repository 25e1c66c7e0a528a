"""What waits for a supervisor's decision, as read models of the supervisors' inbox: pending 延期 requests
(with the case, its department and its paused clock) and cases returned twice awaiting 审定 (with each
return's department, reason code and text), merged into one list, the longest waiting first. Reads only;
the decisions are `routing.department`'s use cases.

Each list is bounded and indexed: pending requests by `ix_extension_request_state`, returned cases by
`ix_case_status` (a returned case waits for the hotline, so there are few), their events by
`ix_case_event_case_at`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import func
from sqlmodel import Session, col, select

from cases.lifecycle import Action, CaseStatus
from cases.models import Case, CaseEvent
from cases.reference import reference_names
from routing import department
from routing.calendar import working_calendar
from routing.clocks import PAUSE_EXTENSION, extended_due, pause_reasons
from routing.department_case import ReturnNote, return_notes
from routing.department_queue import ClockState, clock_state, running_clocks
from routing.models import ExtensionRequest, ExtensionState
from routing.sla import WorkingCalendar

# Who held it (派遣, 审定, 改派) and who returned it.
_RETURN_STORY = [Action.DISPATCH.value, Action.RULE.value, Action.REASSIGN.value, Action.RETURN.value]
RULINGS_SCAN = 500  # returned cases looked at per page (the hotline re-dispatches them within hours)


@dataclass(frozen=True)
class ExtensionRow:
    request: ExtensionRequest
    case: Case
    category_name: str | None
    department_name: str | None
    clock: ClockState | None  # the clock the request paused (what it has left)
    if_approved: datetime | None  # the deadline an approval now gives (None while it also waits on the resident)


@dataclass(frozen=True)
class RulingRow:
    case: Case
    category_name: str | None
    grid_name: str | None
    department_name: str | None  # the department that returned it last
    returns: list[ReturnNote]


def _cases(session: Session, ids: Sequence[int]) -> dict[int, Case]:
    if not ids:
        return {}
    rows = session.exec(select(Case).where(col(Case.id).in_(list(ids)))).all()
    return {c.id: c for c in rows if c.id is not None}


def extension_rows(
    session: Session, now: datetime, limit: int = 100, cal: WorkingCalendar | None = None
) -> list[ExtensionRow]:
    """Pending 延期 requests, oldest first, each with its case and the clock it paused."""
    cal = cal or working_calendar()
    requests = list(department.pending_extensions(session, limit=limit))
    cases = _cases(session, [r.case_id for r in requests])
    clocks = running_clocks(session, list(cases))
    names = reference_names()
    rows = []
    for r in requests:
        case = cases.get(r.case_id)
        if case is None:
            continue
        clock = clocks.get(r.case_id)
        waits_only_on_this = clock is not None and pause_reasons(clock) <= {PAUSE_EXTENSION}
        rows.append(
            ExtensionRow(
                request=r,
                case=case,
                category_name=names.category(case.category_code),
                department_name=names.department(r.department_code or case.department_code),
                clock=clock_state(clock, now, cal) if clock is not None else None,
                if_approved=extended_due(clock, now, r.working_days, cal)
                if clock is not None and waits_only_on_this
                else None,
            )
        )
    return rows


def _return_events(session: Session, case_ids: Sequence[int]) -> dict[int, list[CaseEvent]]:
    if not case_ids:
        return {}
    rows = session.exec(
        select(CaseEvent)
        .where(col(CaseEvent.case_id).in_(list(case_ids)), col(CaseEvent.action).in_(_RETURN_STORY))
        .order_by(col(CaseEvent.at), col(CaseEvent.id))
    ).all()
    found: dict[int, list[CaseEvent]] = {}
    for e in rows:
        found.setdefault(e.case_id, []).append(e)
    return found


def rulings_due(session: Session, limit: int = 100) -> list[RulingRow]:
    """Returned cases that only a supervisor's 审定 may send on (`routing.department.needs_ruling`),
    the longest waiting first."""
    returned = session.exec(
        select(Case)
        .where(Case.status == CaseStatus.RETURNED.value)
        .order_by(col(Case.updated_at), col(Case.id))
        .limit(RULINGS_SCAN)
    ).all()
    waiting = [c for c in returned if department.needs_ruling(c)][:limit]
    events = _return_events(session, [c.id for c in waiting if c.id is not None])
    names = reference_names()
    return [
        RulingRow(
            case=c,
            category_name=names.category(c.category_code),
            grid_name=names.grid(c.grid_code),
            department_name=names.department(c.department_code),
            returns=return_notes(events.get(c.id or 0, [])),
        )
        for c in waiting
    ]


def ruling_case(session: Session, number: str) -> Case | None:
    """The case with this number if it awaits 审定."""
    found = session.exec(select(Case).where(Case.number == number[:32])).first()
    return found if found is not None and department.needs_ruling(found) else None


def extension_request(session: Session, request_id: int) -> ExtensionRequest | None:
    if not 0 < request_id < 2**31:
        return None
    return session.get(ExtensionRequest, request_id)


class InboxKind(StrEnum):
    EXTENSION = "extension"  # 延期审批
    RULING = "ruling"  # 退单审定


@dataclass(frozen=True)
class InboxItem:
    """One thing waiting for a supervisor, of either kind, with the moment it started waiting."""

    kind: InboxKind
    since: datetime
    extension: ExtensionRow | None = None
    ruling: RulingRow | None = None

    @property
    def case(self) -> Case:
        row = self.extension or self.ruling
        assert row is not None
        return row.case


def _ruling_since(row: RulingRow) -> datetime:
    """A returned case waits for 审定 from its last 退单 (its updated_at when the events are not there)."""
    return row.returns[-1].at if row.returns else row.case.updated_at


def inbox(session: Session, now: datetime, limit: int = 100) -> list[InboxItem]:
    """The supervisors' inbox: pending 延期 requests and cases awaiting 审定, one list, the longest waiting
    first (each kind is read oldest first and bounded by `limit`; the merge keeps that order)."""
    items = [
        InboxItem(InboxKind.EXTENSION, r.request.requested_at, extension=r) for r in extension_rows(session, now, limit)
    ]
    items += [InboxItem(InboxKind.RULING, _ruling_since(r), ruling=r) for r in rulings_due(session, limit)]
    return sorted(items, key=lambda i: (i.since, i.case.id or 0))[:limit]


@dataclass(frozen=True)
class InboxCounts:
    extensions: int
    rulings: int

    @property
    def total(self) -> int:
        return self.extensions + self.rulings


def inbox_counts(session: Session) -> InboxCounts:
    """How many of each kind wait (for the nav): counts on ix_extension_request_state and ix_case_status."""
    pending = session.exec(
        select(func.count()).select_from(ExtensionRequest).where(ExtensionRequest.state == ExtensionState.PENDING.value)
    ).one()
    returned = session.exec(
        select(func.count())
        .select_from(Case)
        .where(Case.status == CaseStatus.RETURNED.value, col(Case.return_count) >= department.RULING_AFTER_RETURNS)
    ).one()
    return InboxCounts(int(pending), int(returned))
