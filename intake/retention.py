"""Retention: what a closed case no longer needs is let go after a configured time.

- `HOTLINE_RETENTION_RAW_DAYS`: the raw channel payload of each report (`report.raw`: the Twilio form,
  the camera's JSON) is cleared to `{}` that many days after its case was closed. What the case is made of
  — text, phone, place, category, the timeline — stays.
- `HOTLINE_RETENTION_ATTACHMENT_DAYS`: the photos and snapshots of its reports (files or S3 objects, their
  thumbnails and `attachment` rows) are deleted, and the reports no longer list them.

Only cases that are closed (结案) now: a reopened case keeps everything until it is closed again, and
then the time counts from the new closing. Job RETENTION (periodic, the sweeper); each run takes at most
`HOTLINE_RETENTION_BATCH_SIZE` reports per kind, and running it twice or at once is harmless (a cleared
report no longer matches; a file already deleted is no error). Unset (the default): nothing is let go.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import String, cast
from sqlmodel import Session, col, select

from cases.db import session_scope
from cases.lifecycle import CaseStatus
from cases.models import Case, Report, utcnow
from intake.models import Attachment
from intake.settings import intake_settings
from intake.storage import get_backend

log = logging.getLogger(__name__)


def _expired_reports(session: Session, cutoff: datetime, column: Any, empty: str, limit: int) -> list[Report]:
    """Reports of cases closed before `cutoff` whose `column` still holds something."""
    stmt = (
        select(Report)
        .join(Case, col(Case.id) == col(Report.case_id))
        .where(Case.status == CaseStatus.CLOSED.value, col(Case.closed_at) < cutoff, cast(column, String) != empty)
        .order_by(col(Report.id))
        .limit(limit)
        .with_for_update(of=Report, skip_locked=True)  # PostgreSQL: two sweepers take different reports
    )
    return list(session.exec(stmt))


def clear_raw_payloads(session: Session, now: datetime, days: int, limit: int) -> int:
    reports = _expired_reports(session, now - timedelta(days=days), Report.raw, "{}", limit)
    for report in reports:
        report.raw = {}
        session.add(report)
    session.flush()
    return len(reports)


def delete_attachments(session: Session, now: datetime, days: int, limit: int) -> int:
    """Deletes the files first, then the rows in the caller's transaction: a rollback leaves rows whose
    files are gone (the page shows no photo), never files that no row names."""
    reports = _expired_reports(session, now - timedelta(days=days), Report.attachments, "[]", limit)
    backend = get_backend()
    for report in reports:
        for att_id in report.attachments:
            att = session.get(Attachment, att_id)
            if att is None:
                continue
            for key in (att.storage_key, att.thumb_key):
                if key:
                    backend.delete(key)
            session.delete(att)
        report.attachments = []
        session.add(report)
    session.flush()
    return len(reports)


def apply_retention(now: datetime | None = None) -> int:
    """Job RETENTION: returns how many reports it cleared (raw payloads and attachments counted apart)."""
    settings = intake_settings()
    now = now or utcnow()
    done = 0
    if settings.retention_raw_days is not None:
        with session_scope() as s:
            n = clear_raw_payloads(s, now, settings.retention_raw_days, settings.retention_batch_size)
        if n:
            log.info("retention: raw payloads of %s report(s) cleared", n)
        done += n
    if settings.retention_attachment_days is not None:
        with session_scope() as s:
            n = delete_attachments(s, now, settings.retention_attachment_days, settings.retention_batch_size)
        if n:
            log.info("retention: attachments of %s report(s) deleted", n)
        done += n
    return done
