"""One case as its department sees it on the portal (`/dept/cases/{number}`): the case, what the resident
reported, its clocks (the running one with its colour), its extension requests, its returns with their
reason codes, the 反馈 it sent, and which of the department's forms the case allows now. Reads only.

The case is found through `cases.access.readable_cases(reader)`: another department's case is not found,
the same answer as a number that does not exist."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from cases.access import Reader
from cases.lifecycle import Action, CaseStatus, allowed_actions
from cases.models import Case, CaseEvent, Report
from cases.queries import case_reports
from cases.reference import reference_names
from cases.service import timeline
from routing import department
from routing.calendar import working_calendar
from routing.case_context import readable_case
from routing.clocks import PAUSE_INFO, clocks_of
from routing.department_queue import ClockState, clock_state
from routing.models import ExtensionRequest, ExtensionState, SlaClock
from routing.settings import routing_settings
from routing.sla import WorkingCalendar

EXTENSION_STATES_ZH = {
    ExtensionState.PENDING.value: "待审批",
    ExtensionState.APPROVED.value: "已批准",
    ExtensionState.REFUSED.value: "已驳回",
}


@dataclass(frozen=True)
class ReturnNote:
    """One 退单 of the case: when, by whom, the reason code (and its words) and what they wrote."""

    at: datetime
    actor: str
    department_code: str | None
    code: str | None
    code_zh: str | None
    text: str | None


@dataclass(frozen=True)
class Feedback:
    """One 反馈 (handled) the department sent: its note and the photos it stored."""

    at: datetime
    actor: str
    note: str | None
    photos: list[str]


@dataclass(frozen=True)
class Allowed:
    """The department's forms the case's status allows now (each use case checks again)."""

    sign: bool
    return_: bool
    extension: bool
    handle: bool
    request_info: bool
    resume: bool
    note: bool


@dataclass(frozen=True)
class DepartmentCase:
    case: Case
    category_name: str | None
    grid_name: str | None
    department_name: str | None
    reports: list[Report]
    events: list[CaseEvent]
    clock: ClockState | None  # the running (or paused) one
    clocks: list[SlaClock]  # every clock of the case, oldest first
    extensions: list[ExtensionRequest]  # newest first
    returns: list[ReturnNote]
    feedback: list[Feedback]
    allowed: Allowed
    return_until: datetime | None  # 退单 is possible until then (首办负责制 after)
    photo_required: bool  # the case's SLA policy asks 反馈 for photo evidence
    extensions_left: int  # of HOTLINE_EXTENSION_MAX_COUNT
    extension_max_days: int
    awaiting_ruling: bool

    @property
    def pending_extension(self) -> ExtensionRequest | None:
        return next((e for e in self.extensions if e.state == ExtensionState.PENDING.value), None)

    @property
    def paused_for_info(self) -> bool:
        return self.clock is not None and PAUSE_INFO in self.clock.pause_reasons


def return_notes(events: list[CaseEvent]) -> list[ReturnNote]:
    """The case's 退单 events, oldest first, with the reason code in words and the department that returned
    it (the one the dispatch or ruling before it named; pure)."""
    notes = []
    holder: str | None = None
    holds = (Action.DISPATCH.value, Action.RULE.value, Action.REASSIGN.value)
    for e in events:
        if e.action in holds and e.data.get("department_code"):
            holder = str(e.data["department_code"])
        if e.action != Action.RETURN.value:
            continue
        code = e.data.get("reason_code")
        code = str(code) if code else None
        notes.append(
            ReturnNote(
                at=e.at,
                actor=e.actor,
                department_code=e.data.get("department_code") or holder,
                code=code,
                code_zh=department.RETURN_REASONS.get(code) if code else None,
                text=e.data.get("reason_text") or e.reason,
            )
        )
    return notes


def feedback_of(events: list[CaseEvent]) -> list[Feedback]:
    """The case's 反馈 events, oldest first, with the photos they carry (pure)."""
    found = []
    for e in events:
        if e.action != Action.HANDLE.value:
            continue
        photos = [str(p) for p in e.data.get("photos") or [] if isinstance(p, str)]
        found.append(Feedback(e.at, e.actor, e.data.get("note") or e.reason, photos))
    return found


def allowed(case: Case, clock: ClockState | None) -> Allowed:
    actions = set(allowed_actions(case.status))
    paused_info = clock is not None and PAUSE_INFO in clock.pause_reasons
    return Allowed(
        sign=Action.ACCEPT in actions,
        return_=Action.RETURN in actions,
        extension=Action.REQUEST_EXTENSION in actions and case.status == CaseStatus.IN_PROGRESS.value,
        handle=Action.HANDLE in actions and case.status == CaseStatus.IN_PROGRESS.value,
        request_info=Action.REQUEST_INFO in actions and not paused_info,
        resume=Action.RESUME in actions and paused_info,
        note=case.status in {s.value for s in (CaseStatus.DISPATCHED, CaseStatus.IN_PROGRESS, CaseStatus.HANDLED)},
    )


def department_case(
    session: Session, reader: Reader, number: str, now: datetime, cal: WorkingCalendar | None = None
) -> DepartmentCase | None:
    case = readable_case(session, reader, number)
    if case is None or case.id is None:
        return None
    cal = cal or working_calendar()
    names = reference_names()
    events = timeline(session, case)
    clocks = list(clocks_of(session, case.id))
    running = next((c for c in reversed(clocks) if c.stopped_at is None), None)
    state = clock_state(running, now, cal) if running is not None else None
    extensions = list(department.extension_history(session, case.id))
    granted = sum(1 for e in extensions if e.state == ExtensionState.APPROVED.value)
    settings = routing_settings()
    return DepartmentCase(
        case=case,
        category_name=names.category(case.category_code),
        grid_name=names.grid(case.grid_code),
        department_name=names.department(case.department_code),
        reports=case_reports(session, case.id),
        events=events,
        clock=state,
        clocks=clocks,
        extensions=sorted(extensions, key=lambda e: (e.requested_at, e.id or 0), reverse=True),
        returns=return_notes(events),
        feedback=feedback_of(events),
        allowed=allowed(case, state),
        return_until=department.return_until(session, case),
        photo_required=department.photo_required(session, case),
        extensions_left=max(0, settings.extension_max_count - max(granted, case.extension_count)),
        extension_max_days=settings.extension_max_days,
        awaiting_ruling=department.needs_ruling(case),
    )
