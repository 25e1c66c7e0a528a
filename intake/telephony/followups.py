"""Read model: residents' follow-up texts that wait for a hotline person, and a report's SMS thread.

The SMS flow answers every inbound text itself (`intake.telephony.sms`: keywords, progress queries, the
case number), so an unanswered text never happens. What does wait for a person is a follow-up
(`SmsKind.APPEND`: more words or photos for the sender's open report) once its case is past the agents'
hold: the latest follow-up of its report, on a case neither finished nor held (a held case is in the
agents' queue anyway, with the follow-up on its timeline), with no case event by a hotline person
(`agent:` / `supervisor:` — a reply, a note, a confirmation) since it arrived. No writes here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, literal, or_
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from cases.lifecycle import TERMINAL, CaseStatus
from cases.models import Case, CaseEvent, Report
from intake.telephony.models import SmsMessage
from intake.telephony.states import SmsKind

PERSON_ACTORS = ("agent:", "supervisor:")  # the hotline's people (cases.reference.ACTOR_KINDS)


@dataclass(frozen=True)
class FollowUp:
    message_id: int
    text: str
    received_at: datetime
    report: Report
    case: Case


def _person_acted_since(received: Any) -> Any:
    return (
        select(CaseEvent.id)
        .where(
            col(CaseEvent.case_id) == col(Case.id),
            col(CaseEvent.at) >= received,
            or_(*(col(CaseEvent.actor).startswith(p) for p in PERSON_ACTORS)),
        )
        .exists()
    )


def followups_query(
    *, case_clauses: Sequence[Any], since: datetime, after: datetime | None, before: datetime | None
) -> Any:
    later = aliased(SmsMessage)
    newer = (
        select(later.id)
        .where(
            col(later.report_id) == col(SmsMessage.report_id),
            col(later.kind) == SmsKind.APPEND.value,
            col(later.id) > col(SmsMessage.id),
        )
        .exists()
    )
    received = col(SmsMessage.received_at)
    q = (
        select(SmsMessage, Report, Case)
        .join(Report, col(Report.id) == col(SmsMessage.report_id))
        .join(Case, col(Case.id) == col(Report.case_id))
        .where(
            col(SmsMessage.kind) == SmsKind.APPEND.value,
            received >= max(since, after) if after is not None else received >= since,
            ~newer,
            col(Case.status).not_in([s.value for s in TERMINAL]),
            ~and_(col(Case.needs_review).is_(True), col(Case.status) == CaseStatus.REGISTERED.value),
            ~_person_acted_since(received),
            *case_clauses,
        )
    )
    if before is not None:
        q = q.where(received < before)
    return q


def awaiting_followups(
    session: Session,
    *,
    case_clauses: Sequence[Any] = (),
    since: datetime,
    after: datetime | None = None,
    before: datetime | None = None,
    limit: int = 100,
) -> list[FollowUp]:
    """Oldest first; `case_clauses` narrow the case (category group, place), `after`/`before` the arrival."""
    q = followups_query(case_clauses=case_clauses, since=since, after=after, before=before)
    rows = session.exec(q.order_by(col(SmsMessage.received_at), col(SmsMessage.id)).limit(limit)).all()
    out = []
    for msg, report, case in rows:
        assert msg.id is not None
        text = msg.body or ("（彩信图片）" if msg.media else "")
        out.append(FollowUp(msg.id, text, msg.received_at, report, case))
    return out


def count_awaiting(
    session: Session,
    *,
    case_clauses: Sequence[Any] = (),
    since: datetime,
    after: datetime | None = None,
    before: datetime | None = None,
    cap: int = 1000,
) -> int:
    q = followups_query(case_clauses=case_clauses, since=since, after=after, before=before)
    capped = q.with_only_columns(literal(1)).limit(cap).subquery()
    return int(session.exec(select(func.count()).select_from(capped)).one())


def report_thread(session: Session, report_id: int) -> list[SmsMessage]:
    """The texts that made or joined a report, oldest first."""
    q = select(SmsMessage).where(SmsMessage.report_id == report_id).order_by(col(SmsMessage.received_at))
    return list(session.exec(q).all())


class TelephonyFollowUps:
    """The queue's SMS source (`routing.work_queue.FollowUpSource`), handed to it by the console."""

    rows = staticmethod(awaiting_followups)
    count = staticmethod(count_awaiting)


SMS_FOLLOWUPS = TelephonyFollowUps()
