"""Read models of what came with a case's reports and lives in the intake adapter's tables: the photos
(stored attachments), the voicemail recording and transcript, and the SMS thread with the reporter.
Reads only; the recording itself is fetched through the telephony adapter (`recording_audio`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlmodel import Session, col, select

from cases.models import Case, Report, utcnow
from intake.models import Attachment
from intake.storage import ATTACHMENT_PREFIX
from intake.telephony.models import OutboundMessage, SmsMessage
from intake.telephony.recordings import is_recording_url
from intake.telephony.states import OutboundKind

THREAD_LIMIT = 30
THREAD_BEFORE = timedelta(days=3)  # texts shortly before the case: the report itself, a first try


@dataclass(frozen=True)
class ReportMedia:
    photos: list[str]  # attachment ids, in the report's order
    unsaved: int  # files the channel could not store (a link kept instead): counted, not linked
    recording: bool
    recording_seconds: str | None
    transcript: str | None
    transcription_failed: bool


@dataclass(frozen=True)
class SmsLine:
    at: datetime
    direction: Literal["in", "out"]
    body: str
    note: str | None = None  # what the text was (kind / purpose), for the agent


def report_media(session: Session, report: Report) -> ReportMedia:
    refs = [str(a) for a in report.attachments][:20]
    wanted = [a for a in refs if a.startswith(ATTACHMENT_PREFIX) and len(a) <= 40]
    stored = set(session.exec(select(Attachment.id).where(col(Attachment.id).in_(wanted))).all()) if wanted else set()
    recording_url = report.raw.get("recording_url")
    recording = isinstance(recording_url, str) and is_recording_url(recording_url)
    photos = [a for a in refs if a in stored]
    unsaved = sum(1 for a in refs if a not in stored and a != recording_url)
    transcript = report.raw.get("transcript")
    duration = report.raw.get("recording_duration")
    return ReportMedia(
        photos=photos,
        unsaved=unsaved,
        recording=recording,
        recording_seconds=str(duration) if duration and str(duration).isdigit() else None,
        transcript=str(transcript) if transcript else None,
        transcription_failed=report.raw.get("transcription_status") == "failed" and not transcript,
    )


def sms_thread(session: Session, case: Case, phones: list[str], now: datetime | None = None) -> list[SmsLine]:
    """The reporter's texts around the case (sms_message by its phone index, from a little before the case
    to its close) and the texts we sent about the case (outbound_message by case), oldest first."""
    until = case.closed_at or (now or utcnow())
    lines: list[SmsLine] = []
    if phones:
        inbound = session.exec(
            select(SmsMessage)
            .where(
                col(SmsMessage.phone).in_(phones[:5]),
                col(SmsMessage.received_at) >= case.created_at - THREAD_BEFORE,
                col(SmsMessage.received_at) <= until,
            )
            .order_by(col(SmsMessage.received_at).desc())
            .limit(THREAD_LIMIT)
        ).all()
        for m in inbound:
            lines.append(SmsLine(m.received_at, "in", m.body, m.kind))
            if m.reply:
                lines.append(SmsLine(m.received_at, "out", m.reply, "自动回复"))
    outbound = session.exec(
        select(OutboundMessage)
        .where(col(OutboundMessage.case_id) == case.id, OutboundMessage.kind == OutboundKind.SMS.value)
        .order_by(col(OutboundMessage.created_at).desc())
        .limit(THREAD_LIMIT)
    ).all()
    lines.extend(SmsLine(m.sent_at or m.created_at, "out", m.body, m.purpose) for m in outbound)
    lines.sort(key=lambda line: (line.at, line.direction == "out"))
    return lines[-THREAD_LIMIT:]


def recording_of(session: Session, case: Case, report_id: int) -> str | None:
    """The Twilio recording URL of one of the case's reports, or None."""
    report = session.get(Report, report_id)
    if report is None or report.case_id != case.id:
        return None
    url = report.raw.get("recording_url")
    return url if isinstance(url, str) and is_recording_url(url) else None
