"""A department's queue (the `/dept/` portal's list): its own cases by what they wait for, each with the
running clock's deadline and colour. A read model: it writes nothing.

The department is in the query, never in a template: every statement starts from
`cases.access.scope_cases(select(Case), reader)`, which narrows to the reader's department, and the
status groups below (待签收 / 处置中 / 待核实 / 已退回) keep it to the few open cases of that department —
`ix_case_status` and `ix_case_department_code` serve it, never a scan of the city's case history
(`tests/integration/test_department_queue_pg.py` reads the plans on PostgreSQL).

Colours follow the running clock (routing's `sla_clock`): green, amber once 80 % of its limit is used
(counted in the clock's own unit: a night does not use a working-hours limit,
`routing.sla.elapsed_fraction`), red when overdue. A paused clock (补充材料, a pending 延期) has no
deadline while it waits: it is shown as paused with the time it has left.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import case as sql_case
from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from cases.access import Reader, scope_cases
from cases.lifecycle import CaseStatus
from cases.models import Case, Category
from cases.reference import MATTER, reference_names
from routing.calendar import working_calendar
from routing.department import needs_ruling
from routing.models import ClockKind, SlaClock
from routing.sla import WORKING_UNITS, WorkingCalendar, elapsed_fraction, remaining_seconds

WARN_AT = 0.8  # amber from this fraction of a limit used
S = CaseStatus


class StatusGroup(StrEnum):
    """The portal's tabs: what a department's case waits for."""

    TO_SIGN = "to_sign"  # 待签收: dispatched, not yet signed for
    HANDLING = "handling"  # 处置中: signed for, being handled
    TO_VERIFY = "to_verify"  # 待核实: reported handled, waiting for on-site verification
    RETURNED = "returned"  # 已退回: the department returned it; the hotline re-dispatches (or 审定)


GROUP_STATUS: dict[StatusGroup, CaseStatus] = {
    StatusGroup.TO_SIGN: S.DISPATCHED,
    StatusGroup.HANDLING: S.IN_PROGRESS,
    StatusGroup.TO_VERIFY: S.HANDLED,
    StatusGroup.RETURNED: S.RETURNED,
}
STATUS_GROUP = {status: group for group, status in GROUP_STATUS.items()}
GROUP_LABELS_ZH = {
    StatusGroup.TO_SIGN: "待签收",
    StatusGroup.HANDLING: "处置中",
    StatusGroup.TO_VERIFY: "待核实",
    StatusGroup.RETURNED: "已退回",
}
DEPARTMENT_STATUSES = tuple(s.value for s in GROUP_STATUS.values())
# The clock each status runs (签收 after 派遣, 办结 after 签收, 核实 after 反馈); a returned case runs none.
CLOCK_OF_STATUS = {S.DISPATCHED: ClockKind.SIGN, S.IN_PROGRESS: ClockKind.HANDLE, S.HANDLED: ClockKind.VERIFY}
CLOCK_LABELS_ZH = {ClockKind.SIGN: "签收时限", ClockKind.HANDLE: "办结时限", ClockKind.VERIFY: "核实时限"}


class Due(StrEnum):
    OK = "ok"  # green
    WARN = "warn"  # amber: past 80 % of the limit
    BAD = "bad"  # red: overdue
    PAUSED = "paused"  # the clock waits (补充材料, 延期 pending)
    NONE = "none"  # no clock runs (returned)


class Card(StrEnum):
    """The 督办 card filter."""

    ANY = "any"  # yellow or red
    YELLOW = "yellow"
    RED = "red"


@dataclass(frozen=True)
class DeptFilter:
    """What the department asked for. Codes are checked by the view's form model; unknown ones match nothing."""

    group: StatusGroup | None = None  # None: every tab
    major_code: str | None = None  # taxonomy group (Category.major_code)
    overdue: bool = False
    card: Card | None = None
    limit: int = 100


@dataclass(frozen=True)
class ClockState:
    """A running clock as the page shows it."""

    kind: ClockKind
    started_at: datetime
    due_at: datetime | None  # None while paused
    paused: bool
    pause_reasons: frozenset[str]  # request_info and / or request_extension
    # What it has left in its own seconds (working seconds for working units; negative when overdue); while
    # paused, what it kept.
    remaining_seconds: float | None
    working: bool
    limit_amount: float
    limit_unit: str
    due: Due
    used: float | None  # fraction of the limit used (None while paused)


@dataclass(frozen=True)
class DeptItem:
    case_id: int
    number: str
    title: str
    status: CaseStatus
    group: StatusGroup
    category_name: str | None
    grid_name: str | None
    grade: str
    created_at: datetime
    deadline: datetime | None  # the running clock's (or, without a clock row, the case's mirror)
    due: Due
    clock: ClockState | None
    overdue: bool
    supervision: str | None  # 督办 card: yellow / red
    return_count: int
    extension_count: int
    awaiting_ruling: bool = False  # returned twice: a supervisor's 审定 decides who handles it


@dataclass(frozen=True)
class DeptQueue:
    items: list[DeptItem]
    counts: dict[StatusGroup, int] = field(default_factory=dict)  # per tab, under the other filters

    @property
    def total(self) -> int:
        return sum(self.counts.values())


# --- pure: colours ----------------------------------------------------------------------------------


def clock_due(clock: SlaClock, now: datetime, cal: WorkingCalendar) -> tuple[Due, float | None]:
    """The colour of a running clock and the fraction of its limit used, in the clock's own unit."""
    if clock.paused_at is not None or clock.due_at is None:
        return Due.PAUSED, None
    working = clock.limit_unit in WORKING_UNITS
    used = elapsed_fraction(clock.started_at, clock.due_at, now, working, cal)
    if now >= clock.due_at:
        return Due.BAD, max(used, 1.0)
    return (Due.WARN if used >= WARN_AT - 1e-9 else Due.OK), used  # float noise: 80 % is amber


def mirror_due(deadline: datetime | None, now: datetime) -> Due:
    """A case with no clock row (moved before clocks existed): red when its stored deadline passed."""
    if deadline is None:
        return Due.NONE
    return Due.BAD if deadline <= now else Due.OK


def clock_state(clock: SlaClock, now: datetime, cal: WorkingCalendar) -> ClockState:
    due, used = clock_due(clock, now, cal)
    return ClockState(
        kind=ClockKind(clock.kind),
        started_at=clock.started_at,
        due_at=clock.due_at,
        paused=due == Due.PAUSED,
        pause_reasons=frozenset(r for r in (clock.pause_reason or "").split(",") if r),
        remaining_seconds=(
            clock.remaining_seconds
            if clock.due_at is None
            else remaining_seconds(now, clock.due_at, clock.limit_unit in WORKING_UNITS, cal)
        ),
        working=clock.limit_unit in WORKING_UNITS,
        limit_amount=clock.limit_amount,
        limit_unit=clock.limit_unit,
        due=due,
        used=used,
    )


# --- the queries ------------------------------------------------------------------------------------


def running_deadline() -> Any:
    """The deadline the case's status runs against, from the case's mirrors of its clocks (SQL)."""
    return sql_case(
        (col(Case.status) == S.DISPATCHED.value, col(Case.dispatch_deadline)),
        (col(Case.status) == S.IN_PROGRESS.value, col(Case.handle_deadline)),
        (col(Case.status) == S.HANDLED.value, col(Case.verify_deadline)),
        else_=None,
    )


def _statuses(group: StatusGroup | None) -> list[str]:
    return [GROUP_STATUS[group].value] if group is not None else list(DEPARTMENT_STATUSES)


def department_query(reader: Reader, f: DeptFilter, now: datetime) -> Any:
    """The reader's department's cases in the filter's tabs (the scope and the statuses in the WHERE)."""
    q = scope_cases(select(Case), reader).where(col(Case.status).in_(_statuses(f.group)))
    if f.major_code:
        group = select(Category.code).where(Category.kind == MATTER, Category.major_code == f.major_code)
        q = q.where(col(Case.category_code).in_(group))
    if f.overdue:
        q = q.where(or_(col(Case.overdue).is_(True), running_deadline() < now))
    if f.card == Card.ANY:
        q = q.where(col(Case.supervision).is_not(None))
    elif f.card is not None:
        q = q.where(col(Case.supervision) == f.card.value)
    return q


def queue_order() -> list[Any]:
    """Nearest deadline first; cases without one (returned, paused) after, oldest first."""
    return [running_deadline().asc().nulls_last(), col(Case.created_at), col(Case.id)]


def running_clocks(session: Session, case_ids: Sequence[int]) -> dict[int, SlaClock]:
    """The running clock of each case (ix_sla_clock_case); the latest started wins should two run."""
    if not case_ids:
        return {}
    rows = session.exec(
        select(SlaClock)
        .where(col(SlaClock.case_id).in_(list(case_ids)), col(SlaClock.stopped_at).is_(None))
        .order_by(col(SlaClock.started_at), col(SlaClock.id))
    ).all()
    return {c.case_id: c for c in rows}


def group_counts(session: Session, reader: Reader, f: DeptFilter, now: datetime) -> dict[StatusGroup, int]:
    """Cases per tab under the other filters, in one grouped pass over the department's open cases."""
    q = department_query(reader, DeptFilter(**{**f.__dict__, "group": None}), now)
    rows = session.execute(q.with_only_columns(col(Case.status), func.count()).group_by(col(Case.status))).all()
    counts = {g: 0 for g in StatusGroup}
    for status, n in rows:
        counts[STATUS_GROUP[CaseStatus(status)]] = int(n)
    return counts


def _item(case: Case, clock: SlaClock | None, now: datetime, cal: WorkingCalendar) -> DeptItem:
    names = reference_names()
    status = CaseStatus(case.status)
    state = clock_state(clock, now, cal) if clock is not None else None
    mirror = {
        S.DISPATCHED: case.dispatch_deadline,
        S.IN_PROGRESS: case.handle_deadline,
        S.HANDLED: case.verify_deadline,
    }.get(status)
    deadline = state.due_at if state is not None else mirror
    due = state.due if state is not None else mirror_due(mirror, now)
    assert case.id is not None
    return DeptItem(
        case_id=case.id,
        number=case.number,
        title=case.title,
        status=status,
        group=STATUS_GROUP[status],
        category_name=names.category(case.category_code),
        grid_name=names.grid(case.grid_code),
        grade=case.grade,
        created_at=case.created_at,
        deadline=deadline,
        due=due,
        clock=state,
        overdue=case.overdue or due == Due.BAD,
        supervision=case.supervision,
        return_count=case.return_count,
        extension_count=case.extension_count,
        awaiting_ruling=needs_ruling(case),
    )


def department_queue(
    session: Session, reader: Reader, f: DeptFilter, now: datetime, cal: WorkingCalendar | None = None
) -> DeptQueue:
    """The department's cases as filtered, nearest deadline first (at most `f.limit`), with the count of
    each tab under the same filters."""
    cal = cal or working_calendar()
    cases = list(session.exec(department_query(reader, f, now).order_by(*queue_order()).limit(f.limit)).all())
    clocks = running_clocks(session, [c.id for c in cases if c.id is not None])
    items = [_item(c, clocks.get(c.id or 0), now, cal) for c in cases]
    return DeptQueue(items, group_counts(session, reader, f, now))


def category_groups(session: Session) -> list[tuple[str, str]]:
    """(major_code, major_name) of the matter taxonomy, for the filter form."""
    rows = session.exec(
        select(Category.major_code, Category.major_name).where(Category.kind == MATTER).distinct()
    ).all()
    return sorted((c, n) for c, n in rows if c)
