"""Track-page links: a random token per report, given only to its reporter (texted with the case number,
shown after the web form), stored as a SHA-256. Whoever holds it may follow that report's case and rate it;
case numbers are sequential and phone digits leak, so neither alone proves anything."""

from __future__ import annotations

import hashlib
import re
import secrets

from sqlmodel import Session, select

from cases.models import Case, Report
from intake.models import TrackToken
from intake.settings import intake_settings

TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def issue_token(session: Session, report_id: int) -> str:
    """A new token for this report (several may exist: each link we send keeps working). Caller commits."""
    token = secrets.token_urlsafe(16)  # 128 bits: not guessable, short enough for an SMS
    session.add(TrackToken(token_hash=_hash(token), report_id=report_id))
    return token


def track_url(token: str) -> str:
    return f"{intake_settings().public_base_url.rstrip('/')}/h5/t/{token}"


def report_for_token(session: Session, token: str | None) -> Report | None:
    """The report this token was issued for, or None."""
    if not token or not TOKEN_SHAPE.match(token):
        return None
    row = session.exec(select(TrackToken).where(TrackToken.token_hash == _hash(token))).first()
    return session.get(Report, row.report_id) if row else None


def case_for_token(session: Session, token: str | None) -> Case | None:
    """The case of the report this token was issued for (wherever the report is linked now: a merged
    report's token follows it to the case it was merged into), or None."""
    report = report_for_token(session, token)
    return session.get(Case, report.case_id) if report and report.case_id else None
