"""Read models of the console's case page: one case as a person allowed to read it sees it, with what
the page puts around it — the machine's top-3 categories, the reporter's other recent cases, open cases
of the same matter nearby (possible duplicates, intake's own proposal first: 系统建议合并) and the grid's
neighbourhood. Reads only.

Every query that returns cases starts from `cases.access.readable_cases(reader)`: a case another
department's staff may not read is not found, the same answer as a number that does not exist. Each
is bounded (LIMIT) and served by an index: report.phone with a time bound for the reporter,
category_code / grid_code with a status filter for duplicates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import text, union_all
from sqlmodel import Session, col, select

from cases.access import Reader, readable_cases, scope_cases
from cases.lifecycle import TERMINAL, CaseStatus
from cases.models import OPEN_CASE_SQL, Case, CaseEvent, Report, utcnow
from cases.queries import case_reports
from cases.reference import reference_names
from cases.sanitize import has_unsafe
from cases.service import timeline
from cases.states import EventKind
from routing.gridmap import GridOutline, grid_map_layer

REPEAT_DAYS = 30
REPEAT_LIMIT = 10
DUPLICATE_LIMIT = 10
NUMBER_MAX = 32  # Case.number's column


@dataclass(frozen=True)
class Guess:
    code: str
    name: str | None
    confidence: float


@dataclass(frozen=True)
class TopCategories:
    guesses: list[Guess]
    complete: bool  # False: an older classification that stored only its first choice
    model_version: str | None = None


@dataclass(frozen=True)
class OtherCase:
    number: str
    title: str
    status: str
    category_code: str | None
    grid_code: str | None
    created_at: datetime
    proposed: bool = False  # intake proposed this case as the one to merge into (系统建议合并)


@dataclass(frozen=True)
class Proposal:
    """Intake's 一事多诉 proposal for this case (its latest DUPLICATE_PROPOSED event): the open case of the
    same matter to merge into, and why."""

    case: OtherCase
    same_grid: bool
    distance_m: float | None
    similarity: float | None
    target_open: bool  # still open: a merge into it can be done


@dataclass(frozen=True)
class Neighbourhood:
    grid: GridOutline
    neighbours: list[GridOutline]
    point: tuple[float, float] | None  # (lon, lat) of the first report that has one


@dataclass(frozen=True)
class CaseContext:
    case: Case
    category_name: str | None
    grid_name: str | None
    department_name: str | None
    reports: list[Report]
    events: list[CaseEvent]
    top: TopCategories
    repeats: list[OtherCase]
    duplicates: list[OtherCase]  # the proposal's case first, when there is one the reader may read
    map: Neighbourhood | None
    proposal: Proposal | None = None


def readable_case(session: Session, reader: Reader, number: str) -> Case | None:
    """The case with this number if `reader` may read it (one indexed lookup, scoped in the query)."""
    if not number or len(number) > NUMBER_MAX or has_unsafe(number):
        return None
    found: Case | None = session.exec(readable_cases(reader).where(Case.number == number)).first()
    return found


def case_context(session: Session, reader: Reader, number: str, now: datetime | None = None) -> CaseContext | None:
    case = readable_case(session, reader, number)
    if case is None:
        return None
    names = reference_names()
    reports = case_reports(session, case.id)
    events = timeline(session, case)
    proposal = proposed_duplicate(session, reader, case, events)
    duplicates = possible_duplicates(session, reader, case)
    if proposal is not None:
        duplicates = [proposal.case, *(o for o in duplicates if o.number != proposal.case.number)]
    return CaseContext(
        case=case,
        category_name=names.category(case.category_code),
        grid_name=names.grid(case.grid_code),
        department_name=names.department(case.department_code),
        reports=reports,
        events=events,
        top=top_categories(events, case),
        repeats=repeat_cases(session, reader, case, reports, now=now),
        duplicates=duplicates,
        map=neighbourhood(case, reports),
        proposal=proposal,
    )


def top_categories(events: list[CaseEvent], case: Case) -> TopCategories:
    """The latest machine classification's top 3, named. A classify event written before the top 3 were
    stored (or a case with none) falls back to the case's own category and confidence, marked as such."""
    names = reference_names()
    latest = next((e for e in reversed(events) if e.action == EventKind.CLASSIFY), None)
    data = latest.data if latest is not None else {}
    top3 = data.get("category_top3") or []
    guesses = [
        Guess(str(code), names.category(str(code)), float(conf))
        for code, conf in (t for t in top3 if isinstance(t, list | tuple) and len(t) == 2)
    ][:3]
    if guesses:
        return TopCategories(guesses, True, data.get("model_version"))
    code = data.get("category_code") or case.category_code
    if not code:
        return TopCategories([], False, data.get("model_version"))
    conf = data.get("category_confidence", case.category_confidence)
    return TopCategories([Guess(code, names.category(code), float(conf or 0.0))], False, data.get("model_version"))


def _other(case: Case, proposed: bool = False) -> OtherCase:
    return OtherCase(
        case.number, case.title, case.status, case.category_code, case.grid_code, case.created_at, proposed
    )


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def proposed_duplicate(session: Session, reader: Reader, case: Case, events: list[CaseEvent]) -> Proposal | None:
    """Intake's latest 一事多诉 proposal for the case, when the reader may read the proposed case (one
    lookup by primary key, scoped in the query)."""
    latest = next((e for e in reversed(events) if e.action == EventKind.DUPLICATE_PROPOSED), None)
    target_id = latest.data.get("candidate_case_id") if latest is not None else None
    if latest is None or not isinstance(target_id, int) or isinstance(target_id, bool) or target_id == case.id:
        return None
    target: Case | None = session.exec(readable_cases(reader).where(Case.id == target_id)).first()
    if target is None:
        return None
    return Proposal(
        case=_other(target, proposed=True),
        same_grid=bool(latest.data.get("same_grid")),
        distance_m=_number(latest.data.get("distance_m")),
        similarity=_number(latest.data.get("similarity")),
        target_open=CaseStatus(target.status) not in TERMINAL,
    )


def repeat_cases(
    session: Session, reader: Reader, case: Case, reports: list[Report], now: datetime | None = None
) -> list[OtherCase]:
    """Other cases the same phone(s) reported within the last 30 days, newest first (report.phone index,
    bounded in time and count; only cases the reader may read)."""
    phones = list(dict.fromkeys(r.phone for r in reports if r.phone))[:5]
    if not phones:
        return []
    since = (now or utcnow()) - timedelta(days=REPEAT_DAYS)
    rows = session.exec(
        readable_cases(reader)
        .join(Report, col(Report.case_id) == col(Case.id))
        .where(
            col(Report.phone).in_(phones),
            col(Report.received_at) >= since,
            col(Report.case_id) != case.id,
        )
        .order_by(col(Report.received_at).desc())
        .limit(REPEAT_LIMIT * 3)
    ).all()
    unique = list({c.id: c for c in rows}.values())[:REPEAT_LIMIT]
    return [_other(c) for c in unique]


def possible_duplicates(session: Session, reader: Reader, case: Case) -> list[OtherCase]:
    """Open cases of the same category in the case's grid or the grids touching it, newest first.

    One branch per grid, each the newest few of the partial index ix_case_open_matter (category, grid,
    created_at over open cases), merged: a handful of index rows however many cases the city has. The
    open-case condition is written as the index's own predicate so the planner can use it."""
    if not case.category_code or not case.grid_code:
        return []
    _, near = grid_map_layer().around(case.grid_code)
    grids = [case.grid_code, *(g.code for g in near)][:12]
    branches = [
        scope_cases(select(col(Case.id).label("id"), col(Case.created_at).label("created_at")), reader)
        .where(
            Case.category_code == case.category_code,
            Case.grid_code == grid,
            text(OPEN_CASE_SQL),
            col(Case.id) != case.id,
        )
        .order_by(col(Case.created_at).desc())
        .limit(DUPLICATE_LIMIT)
        .subquery()
        for grid in grids
    ]
    merged = union_all(*(select(b.c.id, b.c.created_at) for b in branches)).subquery()
    ids = session.exec(select(merged.c.id).order_by(merged.c.created_at.desc()).limit(DUPLICATE_LIMIT)).all()
    if not ids:
        return []
    rows = session.exec(select(Case).where(col(Case.id).in_(ids))).all()
    return [_other(c) for c in sorted(rows, key=lambda c: (c.created_at, c.id or 0), reverse=True)]


def neighbourhood(case: Case, reports: list[Report]) -> Neighbourhood | None:
    grid, near = grid_map_layer().around(case.grid_code)
    if grid is None:
        return None
    point = next(((r.lon, r.lat) for r in reports if r.lat is not None and r.lon is not None), None)
    return Neighbourhood(grid, near, point)
