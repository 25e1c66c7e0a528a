"""Issue 12, defect 9: a voicemail's words reach its case — title, classification, timeline — whether the
transcript comes after the pipeline opened the case or before, and a voicemail never transcribed still
makes a case an agent can recognise. Calls are walked as signed webhooks."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlmodel import col, select

from cases import jobs
from cases.db import session_scope
from cases.jobnames import JobName
from cases.models import Case, CaseEvent, Report
from hotline.cli_call import CallSimulator
from hotline.settings import reset_settings
from routing.voicemail import PENDING_TITLE, apply_transcript_job
from tests import telephony_fixtures as tf
from tests.telephony_fixtures import scripted, simulator
from tests.twilio_standin import TwilioStandIn

standin, twilio_env = tf.standin, tf.twilio_env  # fixtures


@pytest.fixture
def closed(twilio_env: TwilioStandIn, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("HOTLINE_AGENT_HOURS", "")  # out of hours: menu 3 goes straight to voicemail
    reset_settings()
    yield
    reset_settings()


class Stalled:
    """A queue that takes jobs and runs none (Redis up, no worker yet)."""

    def __init__(self) -> None:
        self.jobs: list[tuple[JobName, tuple[object, ...]]] = []

    def enqueue(self, job: JobName, *args: object) -> None:
        self.jobs.append((job, args))


def _voicemail_report() -> Report:
    with session_scope() as s:
        [report] = s.exec(select(Report)).all()
        assert report.hints.get("voicemail")
        return report


def _case_and_events(case_id: int | None) -> tuple[Case, list[CaseEvent]]:
    assert case_id is not None
    with session_scope() as s:
        case = s.get(Case, case_id)
        assert case is not None
        events = list(s.exec(select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(col(CaseEvent.id))))
        return case, events


def _transcription_url(sim: CallSimulator) -> str:
    for _, _, body in sim.requests:
        if body.startswith("<?xml"):
            rec = ET.fromstring(body).find("Record")
            if rec is not None and rec.get("transcribeCallback"):
                return str(rec.get("transcribeCallback"))
    raise AssertionError("no <Record transcribeCallback> in the call")


def _leave_voicemail(client: TestClient, words: str | None) -> CallSimulator:
    """Press 3 out of hours, record; the simulator posts the transcription only when there are words."""
    sim = simulator(client)
    said = sim.run(scripted("3", words))
    assert any("留言已记录" in s for s in said)
    return sim


def test_transcript_after_the_case_gives_it_a_title_a_classification_and_a_timeline_entry(
    client: TestClient, closed: None
) -> None:
    _leave_voicemail(client, "东门巷路灯不亮，晚上很黑")
    report = _voicemail_report()
    case, events = _case_and_events(report.case_id)
    opened = next(e for e in events if e.action == "open")
    assert opened.data["title"] == PENDING_TITLE  # the pipeline ran first, before any words
    assert case.title == "东门巷路灯不亮，晚上很黑"
    assert case.category_code == "01037"  # 路灯 — from the transcript
    assert case.needs_review and case.status == "registered"  # held for an agent still
    [reclassified] = [e for e in events if e.actor == "system:voicemail"]
    assert reclassified.action == "classify"
    assert reclassified.data["transcript"] == "东门巷路灯不亮，晚上很黑"
    assert reclassified.data["category_code"] == "01037" and reclassified.data["report_id"] == report.id
    assert "东门巷路灯不亮" in report.text


@pytest.mark.parametrize("first", [JobName.PROCESS_REPORT, JobName.APPLY_TRANSCRIPT])
def test_transcript_before_the_pipeline_is_simply_used_by_it(client: TestClient, closed: None, first: JobName) -> None:
    stalled = Stalled()
    jobs.set_queue(stalled)
    sim = _leave_voicemail(client, "青砖湖公园路灯坏了")
    assert any("/transcription" in path for path, _, _ in sim.requests)
    report = _voicemail_report()
    assert report.case_id is None  # no worker ran the pipeline yet
    queued = [job for job, _ in stalled.jobs]
    assert JobName.PROCESS_REPORT in queued and JobName.APPLY_TRANSCRIPT in queued
    # the worker comes and takes the two jobs, in either order
    for job in sorted(set(queued), key=lambda j: j != first):
        jobs.run_now(job, report.id)
    report = _voicemail_report()
    case, events = _case_and_events(report.case_id)
    assert case.title == "青砖湖公园路灯坏了" and case.category_code == "01037"
    assert case.needs_review and case.status == "registered"
    [classified] = [e for e in events if e.action == "classify"]  # the pipeline read the words itself
    assert classified.actor == "system:pipeline" and classified.data["category_code"] == "01037"
    assert not apply_transcript_job(report.id)
    with session_scope() as s:
        assert len(s.exec(select(Case)).all()) == 1


def test_no_transcript_still_gives_a_recognisable_held_case(client: TestClient, closed: None) -> None:
    _leave_voicemail(client, None)
    report = _voicemail_report()
    assert report.text == "" and report.attachments  # the recording is the content
    case, _ = _case_and_events(report.case_id)
    assert case.title == PENDING_TITLE
    assert case.needs_review and case.status == "registered"


def test_failed_transcription_is_noted_once(client: TestClient, closed: None) -> None:
    sim = _leave_voicemail(client, None)
    url = _transcription_url(sim)
    for _ in range(2):  # Twilio retries
        sim.post(url, {"TranscriptionStatus": "failed", "TranscriptionText": ""})
    report = _voicemail_report()
    case, events = _case_and_events(report.case_id)
    assert [e.reason for e in events if e.actor == "system:voicemail"] == ["留言未能转写，请收听录音"]
    assert case.title == PENDING_TITLE


def test_retried_transcription_and_job_change_nothing_twice(client: TestClient, closed: None) -> None:
    sim = _leave_voicemail(client, "东门巷路灯不亮")
    url = _transcription_url(sim)
    sim.post(url, {"TranscriptionText": "东门巷路灯不亮", "TranscriptionStatus": "completed"})
    report = _voicemail_report()
    assert not apply_transcript_job(report.id)
    assert report.text.count("东门巷路灯不亮") == 1
    _, events = _case_and_events(report.case_id)
    assert len([e for e in events if e.actor == "system:voicemail"]) == 1


def test_a_case_an_agent_already_confirmed_keeps_the_agents_tags(client: TestClient, closed: None) -> None:
    from routing.review import confirm_case

    stalled = Stalled()
    sim = simulator(client)
    sim.run(scripted("3", None))  # recorded; Twilio has not transcribed yet
    report = _voicemail_report()
    with session_scope() as s:
        case = s.get(Case, report.case_id)
        assert case is not None
        confirm_case(s, case, "agent:li", category_code="06010", grid_code="421102001001001")
    jobs.set_queue(stalled)
    sim.post(_transcription_url(sim), {"TranscriptionText": "东门巷路灯不亮", "TranscriptionStatus": "completed"})
    assert (JobName.APPLY_TRANSCRIPT, (report.id,)) in stalled.jobs
    assert apply_transcript_job(report.id)
    case, events = _case_and_events(report.case_id)
    assert case.category_code == "06010" and case.status == "dispatched"  # the agent's decision stands
    assert case.title == "东门巷路灯不亮"  # the placeholder is replaced all the same
    note = [e for e in events if e.actor == "system:voicemail"][-1]
    assert note.action == "note" and note.data["transcript"] == "东门巷路灯不亮"
