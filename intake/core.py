"""The one door every channel goes through: store the report and enqueue the pipeline for after commit."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from cases.jobnames import JobName
from cases.jobs import enqueue_after_commit
from cases.metrics import counted_intake
from cases.models import Report, utcnow
from cases.phone import normalize_phone
from intake.schemas import ReportIn


@dataclass(frozen=True)
class Accepted:
    report: Report
    created: bool


def find_report(session: Session, channel: str, external_id: str) -> Report | None:
    return session.exec(select(Report).where(Report.channel == channel, Report.external_id == external_id)).first()


@counted_intake
def accept(session: Session, report_in: ReportIn) -> Accepted:
    """Store a report in the caller's transaction and enqueue its processing for after its commit (the
    caller commits; until then no pipeline runs on it).

    Idempotent on (channel, external_id): a retried webhook gets the first report back. Two identical
    requests racing each other both try to insert; the unique constraint lets one win and the loser
    reads the winner's row, so there is never a second report (nor a second case).
    Raises `cases.phone.InvalidPhone` for an unusable phone number (callers turn it into a 4xx).

    Trusted door: the caller is an in-process adapter that owns `report_in.channel` and has checked its
    own input (a signature, a CSRF token). Outside callers come through intake.api, which fixes channel,
    external-id namespace, hints and received_at before calling this.
    """
    external_id = report_in.external_id or f"gen-{uuid.uuid4().hex}"
    if report_in.external_id:
        existing = find_report(session, report_in.channel, external_id)
        if existing is not None:
            return Accepted(existing, created=False)

    loc = report_in.location
    report = Report(
        channel=report_in.channel,
        external_id=external_id,
        received_at=report_in.received_at or utcnow(),
        raw=report_in.raw,
        text=report_in.text,
        phone=normalize_phone(report_in.phone),
        lat=loc.lat if loc else None,
        lon=loc.lon if loc else None,
        address=loc.address if loc else None,
        attachments=list(report_in.attachments),
        hints=dict(report_in.hints),
    )
    try:
        # A savepoint: losing the race undoes only this insert, and the caller's session stays usable.
        with session.begin_nested():
            session.add(report)
    except IntegrityError:
        existing = find_report(session, report_in.channel, external_id)
        if existing is None:  # the constraint that fired was not ours
            raise
        return Accepted(existing, created=False)
    assert report.id is not None
    enqueue_after_commit(session, JobName.PROCESS_REPORT, report.id)
    return Accepted(report, created=True)
