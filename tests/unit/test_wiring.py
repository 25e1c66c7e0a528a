"""The automatic side of the closed loop, wired as in production: 派遣 and 反馈 text the reporter,
核实 starts the satisfaction call; the sweeper runs every periodic task."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select
from typer.testing import CliRunner

from cases.db import session_scope
from cases.jobnames import JobName
from cases.models import utcnow
from hotline.cli import app as cli
from hotline.sweeper import sweep_once
from hotline.wiring import PERIODIC
from intake.telephony import outbound
from intake.telephony.models import OutboundMessage
from tests import telephony_fixtures as tf
from tests.twilio_standin import TwilioStandIn

standin, twilio_env = tf.standin, tf.twilio_env  # fixtures
runner = CliRunner()


@pytest.fixture
def client(client: TestClient, api_headers: dict[str, str]) -> TestClient:
    """The app client, authenticated to /api/v1 with an intake+read+routing key."""
    client.headers.update(api_headers)
    return client


def test_case_moves_notify_the_reporter_and_start_the_survey(
    client: TestClient, twilio_env: TwilioStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hotline.settings import reset_settings

    monkeypatch.setenv("HOTLINE_SURVEY_DELAY_MINUTES", "10")
    reset_settings()
    body = {"external_id": "wire-1", "text": "东门菜市场门口暴露垃圾没人清理", "phone": "13800138000"}
    rep = client.post("/api/v1/reports", json=body).json()
    number = client.get(rep["status_url"]).json()["case_number"]
    assert client.get(f"/api/v1/cases/{number}").json()["status"] == "dispatched"
    texts = [m["Body"] for m in twilio_env.messages()]
    assert any(number in t and "已派遣" in t for t in texts), texts

    for action in ("accept", "handle"):
        assert runner.invoke(cli, ["cases", "act", number, action, "--actor", "dept:sanitation"]).exit_code == 0
    assert any("已处理完毕" in m["Body"] for m in twilio_env.messages())
    assert twilio_env.calls() == []
    assert runner.invoke(cli, ["cases", "act", number, "verify", "--actor", "grid:wang"]).exit_code == 0
    assert twilio_env.calls() == []  # HOTLINE_SURVEY_DELAY_MINUTES after 核实, not at once
    with session_scope() as s:
        survey = s.exec(select(OutboundMessage).where(OutboundMessage.purpose == "survey")).one()
        assert survey.status == "deferred"
        survey.not_before = utcnow() - timedelta(seconds=1)  # the delay has passed
        s.add(survey)
        s.commit()
    assert outbound.flush_due() == 1
    calls = twilio_env.calls()
    assert len(calls) == 1 and calls[0]["To"] == "+8613800138000"
    assert "/twilio/voice/survey/ask" in calls[0]["Url"]


@pytest.mark.usefixtures("no_follow_up_jobs")
def test_no_hooks_no_messages(client: TestClient, twilio_env: TwilioStandIn) -> None:
    body = {"external_id": "wire-2", "text": "东门菜市场门口暴露垃圾", "phone": "13800138000"}
    client.post("/api/v1/reports", json=body)
    assert twilio_env.messages() == []


def test_sweeper_reenqueues_orphans(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from cases import jobs
    from cases.settings import kernel_settings
    from hotline.queues import SyncQueue
    from hotline.settings import reset_settings

    class Down:
        def enqueue(self, job: JobName, *args: object) -> None:
            raise ConnectionError("queue down")

    jobs.set_queue(Down())
    rid = client.post("/api/v1/reports", json={"external_id": "orphan", "text": "路灯不亮"}).json()["report_id"]
    monkeypatch.setenv("HOTLINE_SWEEP_DELAY_SECONDS", "0")
    reset_settings()
    jobs.set_queue(SyncQueue())
    assert PERIODIC[0] == JobName.SWEEP
    assert sweep_once(kernel_settings()) == 1
    assert client.get(f"/api/v1/reports/{rid}").json()["case_number"]


# The dotted paths under which RQ stored each job before jobs had names (the release of issue 12).
EARLIER_RELEASE_PATHS = {
    "routing.pipeline.process_report": JobName.PROCESS_REPORT,
    "routing.voicemail.apply_transcript_job": JobName.APPLY_TRANSCRIPT,
    "intake.telephony.outbound.send_sms": JobName.SEND_SMS,
    "intake.telephony.outbound.place_call": JobName.PLACE_CALL,
    "intake.telephony.outbound.send_case_number": JobName.SEND_CASE_NUMBER,
    "intake.telephony.outbound.notify_case_status": JobName.NOTIFY_CASE_STATUS,
    "intake.telephony.outbound.start_survey_call": JobName.START_SURVEY_CALL,
    "routing.pipeline.sweep": JobName.SWEEP,
    "intake.telephony.outbound.flush_due": JobName.FLUSH_DUE,
}
# Jobs added since (issue 14): their paths are kept from now on.
ADDED_PATHS = {
    "intake.retention.apply_retention": JobName.RETENTION,  # issue 17
    "intake.telephony.agent_calls.ring_agent": JobName.RING_AGENT,
    "intake.telephony.outbound.queue_survey_link": JobName.SEND_SURVEY_LINK,
    "agent_ui.callbacks.jobs.record_callback_call": JobName.RECORD_CALLBACK_CALL,
    # issue 15: the escalation ladder and notices to departments
    "routing.escalation_sweep.escalate": JobName.ESCALATE,
    "routing.notices.send_department_notice": JobName.SEND_DEPARTMENT_NOTICE,
    "intake.telephony.department_sms.send_department_sms": JobName.SEND_DEPARTMENT_SMS,
    "routing.reopen.redispatch_reopened": JobName.REDISPATCH_REOPENED,
    # issue 16: the dashboard's aggregates
    "routing.dashboard.refresh.refresh_job": JobName.REFRESH_DASHBOARD,
    # issue 16: hotspots and the supervisors' SMS of them
    "routing.hotspot_alerts.sweep_hotspots": JobName.HOTSPOTS,
    "routing.hotspot_alerts.send_hotspot_sms": JobName.SEND_HOTSPOT_SMS,
    "agent_ui.accounts.directory.supervisor_phones": JobName.SUPERVISOR_PHONES,
}


def test_every_job_name_has_one_function_and_keeps_its_redis_path() -> None:
    """RQ stores a job by dotted path and imports that path to run it: a job still waiting in Redis from
    the earlier release runs the function its name runs now, and this release's jobs are stored as
    before (tests/integration/test_cli_rq.py reads one back; test_jobs_from_redis_pg.py runs an old one)."""
    from rq.utils import import_attribute

    from hotline.jobs import JOBS, job_function

    assert set(JOBS) == set(JobName)
    assert {path: name for name, path in JOBS.items()} == EARLIER_RELEASE_PATHS | ADDED_PATHS
    for path, name in (EARLIER_RELEASE_PATHS | ADDED_PATHS).items():
        assert callable(import_attribute(path)) and import_attribute(path) is job_function(name), path


def test_the_app_wires_the_follow_up_jobs_whatever_queue_it_is_given(env: Path) -> None:
    """`create_app(queue=...)` chooses the queue only: the case hooks are there with any queue."""
    from cases import hooks
    from hotline.app import create_app
    from hotline.queues import SyncQueue

    assert hooks.listeners("dispatched") == []
    with TestClient(create_app(queue=SyncQueue())):
        assert hooks.listeners("dispatched") == [JobName.NOTIFY_CASE_STATUS]
        assert hooks.listeners("handled") == [JobName.NOTIFY_CASE_STATUS]
        assert hooks.listeners("verified") == [JobName.START_SURVEY_CALL]
        assert hooks.listeners("reopened") == [JobName.REDISPATCH_REOPENED]
        from routing.clocks import on_transition

        assert on_transition in hooks.observers()  # the SLA clocks move with every move
