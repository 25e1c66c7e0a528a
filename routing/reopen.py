"""重开 (item 6 of the loop): a reopened case — the resident unsatisfied (`cases.rating.record_rating`), or an
agent's reopen — goes back to the department that handled it, one grade up, so its new limits are shorter
(`routing.sla_policies.next_grade`: the policy is chosen again for that grade when the dispatch starts the
签收 clock). The reopen itself counts against that department (`case.reopen_count`, the reopen event and
the cancelled clock carry its code).

A job after the commit (JobName.REDISPATCH_REOPENED, wired on status reopened in `hotline.wiring`), not an
observer inside the reopen's transaction: the reopen and the re-dispatch are two moves by two actors, the
reopen stands even when the re-dispatch cannot be made (the department was deactivated meanwhile: the case
then waits for an agent, with the reason on its timeline), and whoever reopens (a survey call, the track
page, the console) needs to know nothing of routing. Safe to run twice and concurrently: it claims the case
row and does nothing unless the case is still reopened.
"""

from __future__ import annotations

import logging

from sqlalchemy import update
from sqlmodel import Session, col, select

from cases.db import is_sqlite, session_scope
from cases.lifecycle import CaseStatus
from cases.logcontext import job_ids
from cases.models import Case, CaseEvent
from cases.reference import InvalidInput
from cases.service import record_event
from cases.states import EventKind
from routing.review import dispatch_case
from routing.rules import RulesError
from routing.sla_policies import next_grade

log = logging.getLogger(__name__)

ACTOR = "system:reopen"
GRADES_ZH = {"normal": "一般", "urgent": "紧急", "critical": "特急"}


def _claim(session: Session, case_id: int) -> Case | None:
    """The case, read again inside a transaction no other run of this job can enter until it ends."""
    if is_sqlite(session):
        session.execute(update(Case).where(col(Case.id) == case_id).values(status=col(Case.status)))
        return session.get(Case, case_id, populate_existing=True)
    return session.exec(select(Case).where(Case.id == case_id).with_for_update()).first()


def _held_already(session: Session, case: Case) -> bool:
    """The last event says this job already left the case for an agent (do not say it twice)."""
    last = session.exec(
        select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(col(CaseEvent.id).desc())
    ).first()
    return last is not None and last.action == EventKind.HOLD_FOR_AGENT.value and last.actor == ACTOR


def redispatch(session: Session, case: Case) -> bool:
    """Dispatch a reopened case to its department one grade up. False (and a note for the agents) when it
    cannot be. The caller commits."""
    if case.status != CaseStatus.REOPENED.value:
        return False
    grade = next_grade(case.grade)
    try:
        if case.department_code is None:
            raise InvalidInput("no department to send it back to")
        dispatch_case(
            session,
            case,
            ACTOR,
            department_code=case.department_code,
            grade=grade,
            reason=f"重开后回原承办单位，等级升为{GRADES_ZH.get(grade, grade)}",
            data={"reopen_count": case.reopen_count},
        )
    except (InvalidInput, RulesError) as exc:
        if not _held_already(session, case):
            record_event(session, case, EventKind.HOLD_FOR_AGENT, ACTOR, reason=f"重开后未能自动派遣：{exc}")
        return False
    return True


@job_ids("case_id")
def redispatch_reopened(case_id: int) -> bool:
    """Job: a case still reopened goes back to its department, next grade (nothing otherwise)."""
    with session_scope() as session:
        case = _claim(session, case_id)
        if case is None:
            return False
        done = redispatch(session, case)
    if done:
        log.info("case %s re-dispatched after its reopen", case_id)
    return done
