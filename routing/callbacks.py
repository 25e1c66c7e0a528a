"""Read model of the 回访 worklist: verified cases whose resident is to be called, oldest 核实 first, with
what has been tried and what the resident already said. Reads only.

一事多诉: a case with several reporters lists each (merged and linked reports keep theirs); the phone to
call is the first who has not rated this round, and the case stays due until each has been heard
(cases.rating: the 回访 is done when every reporter phone has rated).

Every query starts from `cases.access.scope_cases` and from verified cases (status is indexed); a case's
time of 核实 is its latest verify event (the case_event index on (case_id, at)), its tries are those
since then (callback_attempt's (case_id, at) index). Lists are bounded; the main one pages by
(verified at, case id).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, exists, func, or_
from sqlmodel import Session, col, select

from cases.access import Reader, scope_cases
from cases.lifecycle import Action, CaseStatus
from cases.models import Case, CaseEvent, Report, utcnow
from cases.queries import reporters
from cases.rating import rated_this_round
from cases.reference import reference_names
from cases.service import get_case_by_number
from routing.models import NOT_REACHED, CallbackAttempt, CallbackOutcome

PAGE = 20  # rows of the main list per page ("更多" loads the next)
SIDE = 20  # rows of each side list (waiting for a retry, texted the link, no phone)

CHANNEL_ZH = {"web": "网页评价", "voice_survey": "自动语音回访", "agent_callback": "人工回访", "console": "人工回访"}


@dataclass(frozen=True)
class RatingSeen:
    """A rating the resident gave on some channel (the track page, the survey call, an agent)."""

    at: datetime
    label: str
    channel: str
    comment: str
    action: str


@dataclass(frozen=True)
class ReporterLine:
    """One reporter of the case, as the callback panel lists them."""

    report_id: int
    phone: str
    rated: bool  # rated this round of handling (on any channel)


@dataclass
class CallbackRow:
    case: Case
    verified_at: datetime
    phone: str | None = None  # the next to call: the first reporter who has not rated this round
    reporters: list[ReporterLine] = field(default_factory=list)
    attempts: list[CallbackAttempt] = field(default_factory=list)  # this round's, oldest first
    ratings: list[RatingSeen] = field(default_factory=list)
    category_name: str | None = None
    grid_name: str | None = None
    department_name: str | None = None

    @property
    def failed_tries(self) -> int:
        """Tries that reached nobody since this round's 核实, or since a reporter last answered (the next
        reporter of the case gets tries of their own)."""
        return len(tries_since_answered(self.attempts))

    @property
    def next_try_at(self) -> datetime | None:
        return self.attempts[-1].next_try_at if self.attempts else None

    @property
    def next_reporter(self) -> ReporterLine | None:
        return next((r for r in self.reporters if not r.rated), None)


@dataclass
class Worklist:
    due: list[CallbackRow]
    next_cursor: str | None
    waiting: list[CallbackRow]  # tried, reached nobody, due again later
    texted: list[CallbackRow]  # out of tries: the SMS rating link went out
    no_phone: list[CallbackRow]  # anonymous: nobody to call, close directly


class BadCursor(ValueError):
    pass


def tries_since_answered(attempts: list[CallbackAttempt]) -> list[CallbackAttempt]:
    """The failed tries (oldest first) after the latest answered call of the attempts given."""
    answered = [i for i, a in enumerate(attempts) if a.outcome == CallbackOutcome.ANSWERED.value]
    after = attempts[answered[-1] + 1 :] if answered else attempts
    return [a for a in after if a.outcome in NOT_REACHED]


def round_started(session: Session, case: Case) -> datetime:
    """When this round of handling was verified (the latest verify event); a case put into 核实 without
    one (imported data) counts from when it was opened, which, unlike its last change, stays put."""
    stmt = select(func.max(CaseEvent.at)).where(CaseEvent.case_id == case.id, CaseEvent.action == Action.VERIFY.value)
    return session.exec(stmt).one() or case.created_at


def _verified(reader: Reader) -> Any:
    """(id, verified_at) of the verified cases the reader may see (verified_at as in `round_started`)."""
    latest_verify = (
        select(func.max(CaseEvent.at))
        .where(CaseEvent.case_id == Case.id, CaseEvent.action == Action.VERIFY.value)
        .correlate(Case)
        .scalar_subquery()
    )
    verified_at = func.coalesce(latest_verify, Case.created_at).label("verified_at")
    stmt: Any = select(col(Case.id).label("id"), verified_at).where(Case.status == CaseStatus.VERIFIED.value)
    return scope_cases(stmt, reader).subquery("verified")


def _phoned(v: Any) -> Any:
    return exists(select(Report.id).where(Report.case_id == v.c.id, col(Report.phone).is_not(None)))


def _tries(v: Any, *conditions: Any) -> Any:
    return exists(
        select(CallbackAttempt.id).where(
            CallbackAttempt.case_id == v.c.id, CallbackAttempt.at >= v.c.verified_at, *conditions
        )
    )


def encode_cursor(row: CallbackRow) -> str:
    assert row.case.id is not None
    return f"{int(row.verified_at.timestamp() * 1_000_000)}.{row.case.id}"


def _decode(cursor: str) -> tuple[datetime, int]:
    micros, _, case_id = cursor.partition(".")
    if not (micros.isdigit() and case_id.isdigit()) or len(micros) > 20 or len(case_id) > 12:
        raise BadCursor(cursor)
    return datetime.fromtimestamp(int(micros) / 1_000_000, UTC), int(case_id)


def _rows(session: Session, stmt: Any, v: Any, limit: int) -> list[CallbackRow]:
    found = session.exec(stmt.join(v, v.c.id == Case.id).limit(limit)).all()
    return [CallbackRow(case=case, verified_at=at) for case, at in found]


def due(
    session: Session, reader: Reader, *, after: str | None = None, now: datetime | None = None, limit: int = PAGE
) -> tuple[list[CallbackRow], str | None]:
    """Verified cases with a phone to call and no try that waits or ended the calling, oldest 核实 first;
    and the cursor of the next page (None on the last)."""
    now = now or utcnow()
    v = _verified(reader)
    waiting_or_done = or_(col(CallbackAttempt.next_try_at).is_(None), col(CallbackAttempt.next_try_at) > now)
    stmt = select(Case, v.c.verified_at).where(_phoned(v), ~_tries(v, waiting_or_done))
    if after:
        at, case_id = _decode(after)
        stmt = stmt.where(or_(v.c.verified_at > at, and_(v.c.verified_at == at, v.c.id > case_id)))
    stmt = stmt.order_by(v.c.verified_at, v.c.id)
    rows = _rows(session, stmt, v, limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    _fill(session, rows)
    return rows, encode_cursor(rows[-1]) if more and rows else None


def worklist(session: Session, reader: Reader, *, after: str | None = None, now: datetime | None = None) -> Worklist:
    now = now or utcnow()
    rows, cursor = due(session, reader, after=after, now=now)
    v = _verified(reader)
    waiting_stmt = (
        select(Case, v.c.verified_at)
        .where(_phoned(v), _tries(v, col(CallbackAttempt.next_try_at) > now))
        .where(~_tries(v, col(CallbackAttempt.next_try_at).is_(None)))
        .order_by(v.c.verified_at, v.c.id)
    )
    texted_stmt = (
        select(Case, v.c.verified_at)
        .where(
            _tries(
                v,
                col(CallbackAttempt.next_try_at).is_(None),
                col(CallbackAttempt.outcome).in_([o.value for o in NOT_REACHED]),
            )
        )
        .order_by(v.c.verified_at.desc(), v.c.id.desc())
    )
    no_phone_stmt = select(Case, v.c.verified_at).where(~_phoned(v)).order_by(v.c.verified_at, v.c.id)
    side = [_rows(session, s, v, SIDE) for s in (waiting_stmt, texted_stmt, no_phone_stmt)]
    for group in side:
        _fill(session, group)
    return Worklist(due=rows, next_cursor=cursor, waiting=side[0], texted=side[1], no_phone=side[2])


def callback_case(session: Session, reader: Reader, number: str) -> CallbackRow | None:
    """One case for the callback panel, whatever its status (the panel says when it is not due), if the
    reader may see it."""
    case = get_case_by_number(session, number)
    if case is None or case.id is None:
        return None
    visible = session.exec(scope_cases(select(Case.id).where(Case.id == case.id), reader)).first()
    if visible is None:
        return None
    row = CallbackRow(case=case, verified_at=round_started(session, case))
    _fill(session, [row])
    return row


def _fill(session: Session, rows: list[CallbackRow]) -> None:
    """Names, the reporters and whom to call, this round's tries and the ratings seen, for a page of rows
    at once."""
    if not rows:
        return
    ids = [r.case.id for r in rows]
    reports: dict[int, list[Report]] = {}
    for report in session.exec(select(Report).where(col(Report.case_id).in_(ids)).order_by(col(Report.id))):
        if report.case_id is not None:
            reports.setdefault(report.case_id, []).append(report)
    attempts: dict[int, list[CallbackAttempt]] = {}
    for a in session.exec(
        select(CallbackAttempt).where(col(CallbackAttempt.case_id).in_(ids)).order_by(col(CallbackAttempt.at))
    ):
        attempts.setdefault(a.case_id, []).append(a)
    ratings: dict[int, list[RatingSeen]] = {}
    events: dict[int, list[CaseEvent]] = {}
    rated = (Action.NOTE.value, Action.SURVEY.value, Action.REOPEN.value, Action.HANDLE.value)
    for ev in session.exec(
        select(CaseEvent)
        .where(col(CaseEvent.case_id).in_(ids), col(CaseEvent.action).in_(rated))
        .order_by(col(CaseEvent.id))
    ):
        events.setdefault(ev.case_id, []).append(ev)
        if ev.data.get("rating"):
            ratings.setdefault(ev.case_id, []).append(
                RatingSeen(
                    ev.at,
                    str(ev.data["rating"]),
                    str(ev.data.get("channel", "")),
                    str(ev.data.get("comment", "")),
                    ev.action,
                )
            )
    names = reference_names()
    for r in rows:
        assert r.case.id is not None
        mine = reports.get(r.case.id, [])
        heard = rated_this_round(events.get(r.case.id, []), mine)
        r.reporters = [ReporterLine(who.report_id, who.phone, who.key in heard) for who in reporters(mine) if who.phone]
        nxt = r.next_reporter or (r.reporters[0] if r.reporters else None)
        r.phone = nxt.phone if nxt is not None else None
        r.attempts = [a for a in attempts.get(r.case.id, []) if a.at >= r.verified_at]
        r.ratings = ratings.get(r.case.id, [])
        r.category_name = names.category(r.case.category_code)
        r.grid_name = names.grid(r.case.grid_code)
        r.department_name = names.department(r.case.department_code)
