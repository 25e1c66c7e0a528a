"""The escalation sweep: the periodic job ESCALATE applies the ladder (`routing.ladder`) to every running SLA
clock, and each step happens exactly once however often the job runs and however many workers run it.

How "exactly once" holds: the running clocks are read by the partial index ix_sla_clock_running_due (due
soonest first, in bounded batches) and the steps each has reached are worked out (`routing.escalation.
due_steps`, minus the steps already recorded). Then, one transaction per clock: the case row is locked
(PostgreSQL `FOR UPDATE`; SQLite: a no-op write takes the one writer lock), the clock is read again — a
case that moved on has stopped its clock, and takes no step — and for each step the `escalation_step`
row is inserted first with `INSERT … ON CONFLICT (clock_id, step) DO NOTHING RETURNING id`. Only the run
whose insert returned an id acts: the case event (预警 / 催办 / 督办), the case's flags, the notices to the
department — all in that same transaction, so a step is recorded together with what it did or not at all.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from cases.db import is_sqlite, session_scope
from cases.lifecycle import TERMINAL, TRANSITIONS, Action, CaseStatus
from cases.metrics import count_sla_breach
from cases.models import Case, CaseEvent, utcnow
from cases.queries import local
from cases.service import apply_action, record_event
from cases.states import EventKind
from routing.calendar import working_calendar
from routing.escalation import ACTION_ZH, CLOCK_ZH, Ladder, Step, StepAction, due_steps, used_fraction
from routing.ladder import current_ladder
from routing.models import EscalationStep, SlaClock
from routing.notices import step_notices
from routing.settings import escalation_settings
from routing.sla import WorkingCalendar

log = logging.getLogger(__name__)

ACTOR = "system:escalation"
CARD_RANK = {None: 0, StepAction.YELLOW.value: 1, StepAction.RED.value: 2}
_ACTION_OF = {StepAction.URGE: Action.URGE, StepAction.YELLOW: Action.ESCALATE, StepAction.RED: Action.ESCALATE}


def taken_steps(session: Session, clock_ids: list[int]) -> dict[int, set[str]]:
    """clock id → names of the steps recorded on it."""
    taken: dict[int, set[str]] = {cid: set() for cid in clock_ids}
    if clock_ids:
        rows = session.exec(
            select(EscalationStep.clock_id, EscalationStep.step).where(col(EscalationStep.clock_id).in_(clock_ids))
        )
        for clock_id, step in rows:
            taken[clock_id].add(step)
    return taken


def running_clocks_query(horizon: datetime, after: tuple[datetime, int] | None, limit: int) -> Any:
    """Running clocks due by `horizon`, due soonest first, after the keyset `after`: a range of the partial
    index ix_sla_clock_running_due (its predicate, stopped_at IS NULL, is in the WHERE)."""
    due = col(SlaClock.due_at)
    query = select(SlaClock).where(col(SlaClock.stopped_at).is_(None), due.is_not(None), due <= horizon)
    if after is not None:
        query = query.where(or_(due > after[0], and_(due == after[0], col(SlaClock.id) > after[1])))
    return query.order_by(due, col(SlaClock.id)).limit(limit)


def candidates(now: datetime, ladder: Ladder, cal: WorkingCalendar, batch: int) -> Iterator[tuple[int, int]]:
    """(clock id, case id) of every running clock with a step due now and not yet taken, page by page."""
    horizon = now + timedelta(days=escalation_settings().escalation_lookahead_days)
    after: tuple[datetime, int] | None = None
    while True:
        with session_scope() as s:
            page: list[SlaClock] = list(s.exec(running_clocks_query(horizon, after, batch)))
            taken = taken_steps(s, [c.id for c in page if c.id is not None])
            found = [
                (c.id, c.case_id)
                for c in page
                if c.id is not None and due_steps(c, ladder, now, cal, taken.get(c.id, set()))
            ]
        yield from found
        if len(page) < batch:
            return
        last = page[-1]
        assert last.due_at is not None and last.id is not None
        after = (last.due_at, last.id)


def _lock_case(session: Session, case_id: int) -> Case | None:
    """The case, read inside a transaction no other mover of it gets past until this one ends."""
    if is_sqlite(session):
        same = {"status": col(Case.status)}
        session.execute(update(Case).where(col(Case.id) == case_id).values(same))
        return session.get(Case, case_id, populate_existing=True)
    return session.exec(select(Case).where(Case.id == case_id).with_for_update()).first()


def _claim_step(session: Session, clock: SlaClock, step: Step, now: datetime) -> int | None:
    """Insert the step's row; its id when this run inserted it, None when it existed already."""
    dialect: Any = sqlite if is_sqlite(session) else postgresql
    table: Any = EscalationStep.__table__  # type: ignore[attr-defined]
    stmt = (
        dialect.insert(table)
        .values(clock_id=clock.id, case_id=clock.case_id, step=step.name, at=now)
        .on_conflict_do_nothing(index_elements=["clock_id", "step"])
        .returning(table.c.id)
    )
    inserted: int | None = session.execute(stmt).scalar_one_or_none()
    return inserted


def _allowed(case: Case, step: Step) -> bool:
    status = CaseStatus(case.status)
    if status in TERMINAL:
        return False
    action = _ACTION_OF.get(step.action)
    return action is None or (status, action) in TRANSITIONS


def _reason(clock: SlaClock, step: Step, now: datetime, cal: WorkingCalendar) -> str:
    kind = CLOCK_ZH.get(clock.kind, clock.kind)
    due = local(clock.due_at)
    if step.action == StepAction.WARN:
        return f"{kind}时限已用 {used_fraction(clock, now, cal):.0%}，{due} 到期"
    if step.action == StepAction.URGE:
        return f"{kind}时限 {due} 已到，系统催办"
    return f"{kind}时限 {due} 已过，{ACTION_ZH[step.action]}"


def _act(session: Session, case: Case, clock: SlaClock, step: Step, now: datetime, cal: WorkingCalendar) -> CaseEvent:
    """What one step does to the case: its event and flags."""
    data = {
        "step": step.name,
        "clock": clock.kind,
        "clock_id": clock.id,
        "due_at": clock.due_at.isoformat() if clock.due_at else None,
        "used": round(used_fraction(clock, now, cal), 3),
    }
    reason = _reason(clock, step, now, cal)
    if step.action == StepAction.WARN:
        return record_event(session, case, EventKind.SLA_WARNING, ACTOR, reason=reason, data=data)
    if not case.overdue:  # the first overdue step of this case: its clock went over
        count_sla_breach(case.department_code)
    if step.action == StepAction.URGE:
        return apply_action(session, case, Action.URGE, ACTOR, reason=reason, data=data, overdue=True)
    card = step.action.value
    if CARD_RANK.get(case.supervision, 0) > CARD_RANK[card]:
        card = str(case.supervision)  # a yellow step never takes a red card back
    return apply_action(session, case, Action.ESCALATE, ACTOR, reason=reason, data=data, supervision=card, overdue=True)


def apply_due_steps(
    session: Session, case: Case, clock: SlaClock, now: datetime, ladder: Ladder, cal: WorkingCalendar
) -> list[str]:
    """Take the steps `clock` has reached by `now` that nobody took yet, each exactly once (the insert
    decides); returns the names of those this call took. The caller holds the case's lock and commits."""
    done: list[str] = []
    taken = taken_steps(session, [clock.id] if clock.id is not None else [])
    for step in due_steps(clock, ladder, now, cal, taken.get(clock.id or 0, set())):
        if not _allowed(case, step):
            log.debug("case %s: ladder step %s not applicable in status %s", case.id, step.name, case.status)
            continue
        step_id = _claim_step(session, clock, step, now)
        if step_id is None:
            continue  # another sweep took it
        _act(session, case, clock, step, now, cal)
        step_notices(session, case, clock, step, step_id, now)
        done.append(step.name)
    session.flush()
    return done


def take_steps(clock_id: int, case_id: int, now: datetime, ladder: Ladder, cal: WorkingCalendar) -> list[str]:
    """One clock, one transaction: lock the case, read the clock again, take its due steps."""
    with session_scope() as s:
        case = _lock_case(s, case_id)
        clock = s.get(SlaClock, clock_id, populate_existing=True)
        if case is None or clock is None or clock.case_id != case_id:
            return []
        return apply_due_steps(s, case, clock, now, ladder, cal)


def escalate(now: datetime | None = None, *, batch: int | None = None) -> int:
    """Job ESCALATE (periodic, run by the sweeper): take every ladder step due at `now` (default: the
    current time). Returns how many steps were taken."""
    now = now or utcnow()
    ladder, cal = current_ladder(), working_calendar()
    size = batch or escalation_settings().escalation_batch_size
    total = 0
    for clock_id, case_id in list(candidates(now, ladder, cal, size)):
        try:
            total += len(take_steps(clock_id, case_id, now, ladder, cal))
        except Exception:  # one case's trouble must not hold up the others; the next sweep tries again
            log.exception("escalation of clock %s (case %s) failed", clock_id, case_id)
    return total
