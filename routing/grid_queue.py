"""What a grid worker's phone page lists (a read model: it writes nothing): their 核实 and 核查 tasks, their
grids' open cases, one case of theirs with what they need on site, and the categories their grids report
most. Every query starts from `cases.access.scope_cases` with the worker's `Reader` (their grids), so a
case of another grid is never read, not merely hidden.

- **核实** (verify): status 反馈 (handled) — the department says it is done; somebody must look.
- **核查** (check): status 上报 with `needs_check` — a routing rule wants the problem seen before 立案.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import and_, func
from sqlmodel import Session, col, select

from cases.access import Reader, scope_cases
from cases.lifecycle import TERMINAL, Action, CaseStatus
from cases.models import Case, CaseEvent, Report, utcnow
from cases.reference import reference_names
from cases.service import get_case_by_number

TASK_LIMIT = 100
OPEN_LIMIT = 200
COMMON_DAYS = 180  # "the categories most used in their grids": reports of the last half year
COMMON_LIMIT = 8


class TaskKind(StrEnum):
    VERIFY = "verify"  # 核实
    CHECK = "check"  # 核查
    NONE = "none"  # an open case of the grid, nothing for the grid worker to do now


TASK_LABELS_ZH = {TaskKind.VERIFY: "待核实", TaskKind.CHECK: "待核查", TaskKind.NONE: ""}


def task_kind(case: Case) -> TaskKind:
    if case.status == CaseStatus.HANDLED.value:
        return TaskKind.VERIFY
    if case.status == CaseStatus.REPORTED.value and case.needs_check:
        return TaskKind.CHECK
    return TaskKind.NONE


@dataclass(frozen=True)
class GridRow:
    """One case on the phone's lists, with the names a person reads."""

    case: Case
    kind: TaskKind
    category_name: str | None
    grid_name: str | None
    department_name: str | None
    place: str | None  # the first report's address
    due: datetime | None  # the 核实 deadline of a verify task; the handling deadline of an open case

    @property
    def label(self) -> str:
        return TASK_LABELS_ZH[self.kind]

    def overdue(self, now: datetime) -> bool:
        return self.due is not None and self.due < now


def _first_reports(session: Session, case_ids: list[int]) -> dict[int, Report]:
    if not case_ids:
        return {}
    first = (
        select(func.min(Report.id))
        .where(col(Report.case_id).in_(case_ids))
        .group_by(col(Report.case_id))
        .scalar_subquery()
    )
    rows = session.exec(select(Report).where(col(Report.id).in_(first))).all()
    return {r.case_id: r for r in rows if r.case_id is not None}


def _rows(session: Session, cases: list[Case]) -> list[GridRow]:
    names = reference_names()
    reports = _first_reports(session, [c.id for c in cases if c.id is not None])
    rows = []
    for case in cases:
        kind = task_kind(case)
        report = reports.get(case.id or 0)
        rows.append(
            GridRow(
                case=case,
                kind=kind,
                category_name=names.category(case.category_code),
                grid_name=names.grid(case.grid_code),
                department_name=names.department(case.department_code),
                place=report.address if report else None,
                due=case.verify_deadline if kind == TaskKind.VERIFY else case.handle_deadline,
            )
        )
    return rows


_VERIFY = col(Case.status) == CaseStatus.HANDLED.value
_CHECK = and_(col(Case.status) == CaseStatus.REPORTED.value, col(Case.needs_check).is_(True))


@dataclass(frozen=True)
class Tasks:
    rows: list[GridRow]
    verify: int
    check: int


def grid_tasks(session: Session, reader: Reader, limit: int = TASK_LIMIT) -> Tasks:
    """The 核查 tasks (oldest first: a resident waits for 立案), then the 核实 tasks (earliest 核实 deadline
    first), in the reader's grids."""
    checks = list(
        session.exec(scope_cases(select(Case).where(_CHECK), reader).order_by(col(Case.created_at)).limit(limit)).all()
    )
    verifies = list(
        session.exec(
            scope_cases(select(Case).where(_VERIFY), reader)
            .order_by(col(Case.verify_deadline).is_(None), col(Case.verify_deadline), col(Case.updated_at))
            .limit(limit)
        ).all()
    )
    return Tasks(_rows(session, checks + verifies), verify=len(verifies), check=len(checks))


def grid_open_cases(session: Session, reader: Reader, limit: int = OPEN_LIMIT) -> list[GridRow]:
    """Every case of the reader's grids that is not closed, rejected or merged, newest first."""
    query = scope_cases(select(Case).where(col(Case.status).not_in([s.value for s in TERMINAL])), reader)
    return _rows(session, list(session.exec(query.order_by(col(Case.created_at).desc()).limit(limit)).all()))


def grid_case(session: Session, reader: Reader, number: str) -> Case | None:
    """The case with this number, if it is in the reader's grids (else None: the page answers 404)."""
    case = get_case_by_number(session, number[:32])
    if case is None:
        return None
    found = session.exec(scope_cases(select(Case.id).where(col(Case.id) == case.id), reader)).first()
    return case if found is not None else None


@dataclass(frozen=True)
class Handled:
    """The department's 反馈 the grid worker checks against: who, when, what they wrote, their photos."""

    at: datetime
    department_name: str | None
    note: str | None
    photos: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class OnSite:
    """One case as the grid worker needs it on site."""

    row: GridRow
    text: str  # what was reported (the first report)
    photos: list[str]  # the reporters' photos (attachment ids)
    lat: float | None
    lon: float | None
    handled: Handled | None  # the latest 反馈, for a 核实 task
    last_failed: str | None  # the reason of an earlier 核实不通过 of this case, if any


def _photo_ids(value: Any) -> list[str]:
    if not isinstance(value, list):
        return []
    return [p for p in value if isinstance(p, str) and p.startswith("att_") and len(p) <= 40][:20]


def _latest(session: Session, case: Case, action: Action) -> CaseEvent | None:
    return session.exec(
        select(CaseEvent)
        .where(CaseEvent.case_id == case.id, CaseEvent.action == action.value)
        .order_by(col(CaseEvent.at).desc(), col(CaseEvent.id).desc())
        .limit(1)
    ).first()


def on_site(session: Session, case: Case) -> OnSite:
    """The case (already read through `grid_case`) with its report, photos and latest 反馈."""
    [row] = _rows(session, [case])
    reports = session.exec(select(Report).where(Report.case_id == case.id).order_by(col(Report.id)).limit(20)).all()
    first = reports[0] if reports else None
    photos = [p for r in reports for p in _photo_ids(r.attachments)]
    handled = None
    if row.kind == TaskKind.VERIFY and (ev := _latest(session, case, Action.HANDLE)) is not None:
        dept = ev.data.get("department_code") or case.department_code
        note = ev.reason or ev.data.get("note")
        handled = Handled(
            ev.at, reference_names().department(dept), str(note) if note else None, _photo_ids(ev.data.get("photos"))
        )
    failed = _latest(session, case, Action.VERIFY_FAIL)
    return OnSite(
        row=row,
        text=first.text if first else case.title,
        photos=photos,
        lat=first.lat if first else None,
        lon=first.lon if first else None,
        handled=handled,
        last_failed=failed.reason if failed is not None else None,
    )


def common_category_codes(
    session: Session, reader: Reader, *, days: int = COMMON_DAYS, limit: int = COMMON_LIMIT, now: datetime | None = None
) -> list[str]:
    """The matter codes reported most in the reader's grids over the last `days`, most used first (ties: by
    code). The page fills the list up with the city's common ones when a grid has little history."""
    since = (now or utcnow()) - timedelta(days=days)
    count = func.count(col(Case.id))
    query = scope_cases(
        select(col(Case.category_code), count).where(
            col(Case.created_at) >= since,
            col(Case.category_code).is_not(None),
            col(Case.status) != CaseStatus.MERGED.value,
        ),
        reader,
    )
    rows = session.exec(
        query.group_by(col(Case.category_code)).order_by(count.desc(), col(Case.category_code)).limit(limit)
    )
    return [code for code, _ in rows.all() if code]
