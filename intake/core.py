"""The one door every channel goes through: store the report and enqueue the pipeline for after commit."""

from __future__ import annotations

import logging
import queue
import threading
import uuid
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import tuple_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import make_transient_to_detached
from sqlmodel import Session, col, select

from cases import providers
from cases.db import session_scope
from cases.jobnames import JobName
from cases.jobs import enqueue_after_commit, enqueue_committed
from cases.metrics import count_intake, counted_intake
from cases.models import Report, utcnow
from cases.phone import normalize_phone
from intake.schemas import ReportIn

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Accepted:
    report: Report
    created: bool


def find_report(session: Session, channel: str, external_id: str) -> Report | None:
    return session.exec(select(Report).where(Report.channel == channel, Report.external_id == external_id)).first()


def new_report(report_in: ReportIn) -> Report:
    """The row a report becomes (not added to any session). Raises `cases.phone.InvalidPhone`."""
    loc = report_in.location
    return Report(
        channel=report_in.channel,
        external_id=report_in.external_id or f"gen-{uuid.uuid4().hex}",
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


@counted_intake
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
    report = new_report(report_in)
    report_id = _insert_unless_there(session, report)
    if report_id is None:  # a retry, or the loser of a race: the first report stands
        existing = find_report(session, report.channel, report.external_id)
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
    return session.execute(_insert_statement(session, [report])).scalar_one_or_none()


def _insert_statement(session: Session, reports: list[Report]) -> Any:
    table: Any = Report.__table__  # type: ignore[attr-defined]
    rows = [{c.name: getattr(r, c.name) for c in table.columns if c.name != "id"} for r in reports]
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    return (
        insert(table)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["channel", "external_id"])
        .returning(table.c.id, table.c.channel, table.c.external_id)
    )


# --- group commit -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stored:
    report_id: int
    created: bool
    case_id: int | None


@dataclass
class _Pending:
    report: Report
    done: Future[Stored] = field(default_factory=Future)


class GroupCommitter:
    """Stores reports that concurrent requests hand in, many per transaction, and answers each request
    only after the transaction that holds its report has committed (its `Future` resolves then).

    A commit costs a disk flush (SQLite's WAL fsync: a few ms, so ~220 single-row commits/s on this
    machine) or a round trip to PostgreSQL; one commit for whatever arrived meanwhile makes intake cost a
    share of one. Durability is unchanged: nothing is acknowledged before it is on disk, and the report's
    job is enqueued after the commit (and the sweeper finds the report anyway). One multi-row INSERT …
    ON CONFLICT (channel, external_id) DO NOTHING RETURNING per batch; the reports it did not insert are
    already there (a retry, or a twin in the same batch) and are read back, so there is never a second
    report. A batch that fails for another reason is tried again one report per transaction, so a bad row
    fails only its own request."""

    MAX_BATCH = 256

    def __init__(self) -> None:
        self._q: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="hotline-intake-commit", daemon=True)
        self._thread.start()

    def submit(self, report: Report) -> Future[Stored]:
        pending = _Pending(report)
        self._q.put(pending)
        return pending.done

    def stop(self) -> None:
        self._q.put(None)
        self._thread.join(10)

    def _run(self) -> None:
        while True:
            first = self._q.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < self.MAX_BATCH:
                try:
                    item = self._q.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._q.put(None)  # stop after this batch
                    break
                batch.append(item)
            self._store(batch)

    def _store(self, batch: list[_Pending]) -> None:
        try:
            results = _store_batch([p.report for p in batch])
        except Exception as exc:
            if len(batch) == 1:
                batch[0].done.set_exception(exc)
                return
            log.warning(
                "group commit of %s reports failed (%s); storing them one by one", len(batch), type(exc).__name__
            )
            for p in batch:
                self._store([p])
            return
        for p, stored in zip(batch, results, strict=True):
            count_intake(p.report.channel, stored.created)
            if stored.created:
                enqueue_committed(JobName.PROCESS_REPORT, stored.report_id)
            p.done.set_result(stored)


def _store_batch(reports: list[Report]) -> list[Stored]:
    """Insert what is new, read back what was there, commit; one `Stored` per report, in order."""
    with session_scope() as session:
        inserted = {(ch, ext): rid for rid, ch, ext in session.execute(_insert_statement(session, reports))}
        missing = {(r.channel, r.external_id) for r in reports} - inserted.keys()
        there: dict[tuple[str, str], tuple[int, int | None]] = {}
        if missing:
            rows = session.exec(
                select(Report.id, Report.channel, Report.external_id, Report.case_id).where(
                    tuple_(col(Report.channel), col(Report.external_id)).in_(sorted(missing))
                )
            )
            there = {(ch, ext): (rid, case) for rid, ch, ext, case in rows if rid is not None}
    out: list[Stored] = []
    first_seen: set[tuple[str, str]] = set()
    for r in reports:
        k = (r.channel, r.external_id)
        if k in inserted:
            out.append(Stored(inserted[k], k not in first_seen, None))  # a twin in the batch is its duplicate
            first_seen.add(k)
        elif k in there:
            out.append(Stored(there[k][0], False, there[k][1]))
        else:  # it was there when we inserted and is gone now: its transaction was rolled back since
            raise RuntimeError("a conflicting report vanished; the batch is stored again one by one")
    return out


def _close_committer(committer: GroupCommitter) -> None:
    committer.stop()


COMMITTER: providers.Key[GroupCommitter] = providers.Key("intake group committer", GroupCommitter, _close_committer)


def accept_grouped(report_in: ReportIn) -> Future[Stored]:
    """`accept` for a caller with nothing else to write in the report's transaction (the JSON API): the
    report is stored by this process's `GroupCommitter`, committed with whatever else arrived meanwhile.
    The future resolves once it is committed (or fails with the database's error; nothing was stored).
    Raises `cases.phone.InvalidPhone` at once."""
    return providers.get(COMMITTER).submit(new_report(report_in))
