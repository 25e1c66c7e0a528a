"""The one door every channel goes through: store the report and enqueue the pipeline for after commit."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import make_transient_to_detached
from sqlmodel import Session, select

from cases.jobnames import JobName
from cases.jobs import enqueue_after_commit
from cases.models import Report, utcnow
from cases.phone import normalize_phone
from intake.schemas import ReportIn


@dataclass(frozen=True)
class Accepted:
    report: Report
    created: bool


def find_report(session: Session, channel: str, external_id: str) -> Report | None:
    return session.exec(select(Report).where(Report.channel == channel, Report.external_id == external_id)).first()


def accept(session: Session, report_in: ReportIn) -> Accepted:
    """Store a report in the caller's transaction and enqueue its processing for after its commit (the
    caller commits; until then no pipeline runs on it).

    Idempotent on (channel, external_id): a retried webhook gets the first report back. Two identical
    requests racing each other both insert with ON CONFLICT DO NOTHING on the unique constraint: one row
    is written, the other insert returns nothing and reads the winner's row, so there is never a second
    report (nor a second case).
    Raises `cases.phone.InvalidPhone` for an unusable phone number (callers turn it into a 4xx).

    Trusted door: the caller is an in-process adapter that owns `report_in.channel` and has checked its
    own input (a signature, a CSRF token). Outside callers come through intake.api, which fixes channel,
    external-id namespace, hints and received_at before calling this.
    """
    external_id = report_in.external_id or f"gen-{uuid.uuid4().hex}"
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
    report_id = _insert_unless_there(session, report)
    if report_id is None:  # a retry, or the loser of a race: the first report stands
        existing = find_report(session, report_in.channel, external_id)
        if existing is None:  # it was there a moment ago: the winner's transaction was rolled back since
            raise RuntimeError("report vanished between its conflict and its read")
        return Accepted(existing, created=False)
    report.id = report_id
    # The row is written; make the object the session's own (persistent, nothing left to flush), so callers
    # may go on changing it in the same transaction as before.
    make_transient_to_detached(report)
    session.add(report)
    enqueue_after_commit(session, JobName.PROCESS_REPORT, report_id)
    return Accepted(report, created=True)


def _insert_unless_there(session: Session, report: Report) -> int | None:
    """One statement, one round trip: INSERT … ON CONFLICT (channel, external_id) DO NOTHING RETURNING id.

    None when a report with this (channel, external_id) exists, committed or in a transaction still open
    (PostgreSQL waits for that one to end; SQLite has one writer). Unlike the read-then-insert-in-a-savepoint
    it replaces (four round trips), a conflict does not abort the transaction, so no savepoint is needed;
    any other constraint still raises."""
    table = Report.__table__
    values = {c.name: getattr(report, c.name) for c in table.columns if c.name != "id"}
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = (
        insert(table)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["channel", "external_id"])
        .returning(table.c.id)
    )
    return session.execute(stmt).scalar_one_or_none()
