"""A voicemail's words reach its case, whichever comes first: the transcript or the pipeline.

Twilio posts the transcript of a voicemail a while after the recording; by then the pipeline has usually
opened the case from a report with no words. The telephony adapter stores the transcript on the report
and enqueues `apply_transcript_job`; once the case exists, the case gets a real title (if it had
the placeholder), a fresh classification recorded on its timeline with the transcript, and stays held for
an agent — a voicemail is never dispatched on the machine's word alone. When the transcript comes first
(or while the pipeline runs), the pipeline classifies the report's text, transcript included, and this job
only puts the words on the timeline as a note.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlmodel import Session, select

from cases.db import is_sqlite, session_scope
from cases.jobnames import JobName
from cases.jobs import run_now
from cases.lifecycle import Action, CaseStatus
from cases.models import Case, Report
from cases.service import record_event
from cases.states import EventKind
from classifiers.base import ReportFacts
from classifiers.serving.registry import get_classifier
from routing.decision_records import routing_inputs
from routing.rules import route
from routing.ruleset import routing_table

log = logging.getLogger(__name__)

ACTOR = "system:voicemail"
PENDING_TITLE = "语音留言（待转写）"
TITLE_CHARS = 60


def case_title(report: Report) -> str:
    """The title of the case a report opens: its first words, or for a voicemail still without any, a
    placeholder an agent can read in the queue (and the transcript replaces)."""
    if report.text.strip():
        return report.text[:TITLE_CHARS]
    return PENDING_TITLE if report.hints.get("voicemail") else ""


def _placeholder(title: str) -> bool:
    return title.strip() in ("", PENDING_TITLE)


def _lock(session: Session, report_id: int) -> Report | None:
    stmt = select(Report).where(Report.id == report_id).execution_options(populate_existing=True)
    if not is_sqlite(session):
        stmt = stmt.with_for_update()  # the same lock the pipeline takes: one of us sees the other's work
    return session.exec(stmt).first()


def apply_transcript(session: Session, report_id: int) -> bool:
    """Bring a stored transcript to the report's case. Does not commit; True when the case changed.

    Safe to run twice: the transcript applied is remembered on the report (`raw.transcript_applied`)."""
    report = _lock(session, report_id)
    if report is None or report.case_id is None:
        return False  # no case yet: the pipeline will classify the text, transcript and all
    case = session.get(Case, report.case_id)
    if case is None:
        return False
    transcript = str(report.raw.get("transcript") or "").strip()
    if not transcript:
        return _note_failed_transcription(session, report, case)
    if report.raw.get("transcript_applied") == transcript:
        return False

    c = get_classifier().classify(ReportFacts(text=report.text, address=report.address, phone=report.phone))
    if not _placeholder(case.title) and (c.category_code, c.grid_code) == (case.category_code, case.grid_code):
        # The pipeline already classified these words (the transcript came first, or while it ran): the
        # tags stand, but the agent still sees on the timeline what the caller said and when it came.
        heard = {"report_id": report.id, "transcript": transcript}
        record_event(session, case, Action.NOTE, ACTOR, reason="留言转写", data=heard)
        report.raw = {**report.raw, "transcript_applied": transcript}
        session.add(report)
        return True
    data: dict[str, Any] = {"report_id": report.id, "transcript": transcript, **c.event_data()}
    if _placeholder(case.title):
        case.title = " ".join(transcript.split())[:TITLE_CHARS]
    # Only a case still waiting for an agent takes the new tags; one an agent already confirmed keeps
    # the agent's choice and gets the transcript as a note.
    if case.status == CaseStatus.REGISTERED.value:
        if c.category_code is not None:
            case.category_code, case.category_confidence = c.category_code, c.category_confidence
            inputs = routing_inputs(
                session,
                report,
                category_code=c.category_code,
                category_confidence=c.category_confidence,
                candidates=c.category_top3,
                grid_code=c.grid_code or case.grid_code,
                grade=case.grade,
            )
            case.department_code = route(routing_table(), inputs).department_code  # proposed; the agent confirms
        if c.grid_code is not None:
            case.grid_code, case.grid_confidence, case.grid_source = c.grid_code, c.grid_confidence, c.grid_source
        case.needs_review = True
        record_event(session, case, EventKind.CLASSIFY, ACTOR, reason="留言转写后重新分类，待坐席确认", data=data)
    else:
        record_event(session, case, Action.NOTE, ACTOR, reason="留言转写", data=data)
    report.raw = {**report.raw, "transcript_applied": transcript}
    session.add(report)
    session.add(case)
    return True


def _note_failed_transcription(session: Session, report: Report, case: Case) -> bool:
    status = report.raw.get("transcription_status")
    if status != "failed" or report.raw.get("transcription_failure_noted"):
        return False
    record_event(session, case, Action.NOTE, ACTOR, reason="留言未能转写，请收听录音", data={"report_id": report.id})
    report.raw = {**report.raw, "transcription_failure_noted": True}
    session.add(report)
    return True


def apply_transcript_job(report_id: int) -> bool:
    """Job (by dotted path, an id only): `apply_transcript` in its own transaction.

    Enqueued for every transcript. A report still without a case gets its pipeline run first (idempotent,
    and it reads the transcript with the rest of the text): whichever backend and whoever ran first, the
    words end up on the case."""
    with session_scope() as s:
        report = s.get(Report, report_id)
        without_case = report is not None and report.case_id is None
    if without_case:
        run_now(JobName.PROCESS_REPORT, report_id)
    with session_scope() as s:
        changed = apply_transcript(s, report_id)
    if changed:
        log.info("voicemail report %s: transcript applied to its case", report_id)
    return changed
