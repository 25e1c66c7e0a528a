"""A voicemail's transcript and the pipeline on PostgreSQL: whichever has the report row first, the words
reach the case — the pipeline reads them, or the transcription callback waits for the pipeline's row lock,
sees the case and enqueues the re-classification."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from sqlmodel import select

from cases import jobs
from cases.db import session_scope
from cases.models import Case, CaseEvent, Report
from classifiers.base import Classification, ReportFacts
from intake.core import accept
from intake.schemas import ReportIn
from intake.telephony.handlers import add_transcription
from routing.pipeline import process_report

pytestmark = [pytest.mark.integration]

WORDS = "东门巷路灯不亮，晚上很黑"


class Gate:
    """The real classifier, entered only when the test opens the gate: holds a pipeline run inside its
    transaction (report row locked, text read) for as long as the test needs."""

    def __init__(self) -> None:
        from classifiers.serving.registry import get_classifier

        self.real = get_classifier()
        self.entered = threading.Event()
        self.open = threading.Event()

    def classify(self, facts: ReportFacts) -> Classification:
        self.entered.set()
        assert self.open.wait(30)
        return self.real.classify(facts)


@pytest.fixture
def voicemail(prod_env: dict[str, str]) -> Iterator[int]:
    from hotline.queues import SyncQueue

    jobs.set_queue(None)  # as with Redis down at intake: stored, its pipeline job left to the test
    with session_scope() as s:
        report_in = ReportIn(
            channel="voice",
            external_id="CAit1:voicemail",
            text="",
            attachments=["https://api.twilio.com/Recordings/RE1"],
            raw={"call_sid": "CAit1", "voicemail": True},
            hints={"needs_review": True, "voicemail": True},
        )
        rid = accept(s, report_in).report.id
        s.commit()
    assert rid is not None
    jobs.set_queue(SyncQueue())  # jobs enqueued from here on run right after their commit
    yield rid
    jobs.set_queue(None)


def _check(rid: int) -> list[CaseEvent]:
    with session_scope() as s:
        report = s.get(Report, rid)
        assert report is not None and report.case_id is not None
        case = s.get(Case, report.case_id)
        assert case is not None
        assert case.title == WORDS
        assert case.category_code == "01037"
        assert case.needs_review and case.status == "registered"
        assert len(s.exec(select(Case)).all()) == 1  # one voicemail, one case
        return list(s.exec(select(CaseEvent).where(CaseEvent.case_id == case.id)))


def test_transcript_arriving_while_the_pipeline_holds_the_report(
    voicemail: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    import routing.pipeline

    gate = Gate()
    monkeypatch.setattr(routing.pipeline, "get_classifier", lambda: gate)
    pipeline = threading.Thread(target=process_report, args=(voicemail,))
    pipeline.start()
    assert gate.entered.wait(30)  # the pipeline has the row and has read a report with no words
    callback = threading.Thread(target=add_transcription, args=("CAit1", WORDS, "completed"))
    callback.start()
    time.sleep(0.5)
    gate.open.set()
    for t in (pipeline, callback):
        t.join(60)
        assert not t.is_alive()
    events = _check(voicemail)
    assert any(e.actor == "system:voicemail" and e.data.get("transcript") == WORDS for e in events)


def test_transcript_before_the_pipeline(voicemail: int) -> None:
    assert add_transcription("CAit1", WORDS, "completed")
    process_report(voicemail)
    events = _check(voicemail)
    # The pipeline read the words itself; the timeline still shows them once, as a note.
    mine = [e for e in events if e.actor == "system:voicemail"]
    assert [(e.action, e.data.get("transcript")) for e in mine] == [("note", WORDS)]
