"""Notices to departments: written with what caused them (派遣, a ladder step), sent after commit — an SMS to
the contact through the Twilio stand-in, a signed webhook checked by a receiver as the docs say — retried,
then failed and listed for admins, and retried by hand."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import col, select
from typer.testing import CliRunner

from cases import hooks, jobs
from cases.db import session_scope
from cases.jobnames import JobName
from cases.lifecycle import Action
from cases.models import utcnow
from cases.service import apply_action, open_case
from cases.settings import kernel_settings
from hotline.cli import app as cli
from hotline.settings import reset_settings
from hotline.wiring import wire_case_hooks
from intake.telephony.models import OutboundMessage
from routing import notices
from routing.escalation import Target
from routing.models import DepartmentContact, DepartmentNotice, DepartmentWebhook
from tests import telephony_fixtures as tf
from tests.console_helpers import DEPARTMENT, GRID
from tests.escalation_fixtures import (
    DUTY_PHONE,
    HEAD_PHONE,
    SECRET,
    RecordingQueue,
    add_contacts,
    case_row,
    case_with_clock,
)
from tests.twilio_standin import TwilioStandIn
from tests.webhook_receiver import WebhookReceiver

standin, twilio_env = tf.standin, tf.twilio_env  # fixtures
runner = CliRunner()


@pytest.fixture
def queue(env: Path) -> Iterator[RecordingQueue]:
    q = RecordingQueue()
    jobs.set_queue(q)
    yield q
    jobs.set_queue(None)


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    r = WebhookReceiver(SECRET).start()
    yield r
    r.stop()


def _dispatch(department: str = DEPARTMENT) -> tuple[int, int]:
    """A case dispatched through the lifecycle (the observers run): (case id, dispatch event id)."""
    with session_scope() as s:
        case = open_case(s, actor="system:test", title="东门菜市场门口垃圾满溢", category_code="06010", grid_code=GRID)
        apply_action(s, case, Action.REGISTER, "system:test")
        now = utcnow()
        event = apply_action(
            s,
            case,
            Action.DISPATCH,
            "agent:li",
            department_code=department,
            dispatch_deadline=now + timedelta(hours=1),
            handle_deadline=now + timedelta(days=2),
        )
        s.flush()
        assert case.id is not None and event.id is not None
        return case.id, event.id


def _notices(**where: object) -> list[DepartmentNotice]:
    with session_scope() as s:
        query = select(DepartmentNotice).order_by(col(DepartmentNotice.id))
        for name, value in where.items():
            query = query.where(getattr(DepartmentNotice, name) == value)
        return list(s.exec(query))


def _one_notice(channel: str, webhook_url: str | None = "http://127.0.0.1:9/hook") -> int:
    """A dispatch notice of one channel, written by the observer; returns its id."""
    with session_scope() as s:
        add_contacts(s, webhook_url=webhook_url)
        if channel == "webhook":
            for c in s.exec(select(DepartmentContact)):
                s.delete(c)
    wire_case_hooks()
    _dispatch()
    rows = _notices(channel=channel)
    assert len(rows) == 1 and rows[0].id is not None
    return rows[0].id


def test_dispatch_tells_the_department_in_its_own_transaction(queue: RecordingQueue) -> None:
    wire_case_hooks()
    with session_scope() as s:
        add_contacts(s)
    case_id, event_id = _dispatch()
    rows = _notices()
    assert [(n.key, n.channel, n.event) for n in rows] == [
        (f"dispatch:{event_id}:sms:1", "sms", "dispatch"),  # the duty contact, not the head
        (f"dispatch:{event_id}:webhook", "webhook", "dispatch"),
    ]
    with session_scope() as s:
        case = case_row(s, case_id)
        assert rows[0].target == "1" and rows[1].target == "http://127.0.0.1:9/hook"
        assert rows[0].payload["case_number"] == case.number and rows[0].payload["status"] == "dispatched"
        assert case.dispatch_deadline is not None
        local_due = case.dispatch_deadline.astimezone(ZoneInfo(kernel_settings().timezone))
        assert rows[0].payload["deadline"] == local_due.isoformat() == rows[1].payload["deadline"]
        assert "请于" in rows[0].payload["text"] and case.number in rows[0].payload["text"]
    assert queue.of(JobName.SEND_DEPARTMENT_NOTICE) == [(rows[0].id,), (rows[1].id,)]

    # A dispatch that rolls back leaves no notice and starts no job.
    with pytest.raises(RuntimeError), session_scope() as s:
        case = open_case(s, actor="system:test", title="又一处垃圾", category_code="06010", grid_code=GRID)
        apply_action(s, case, Action.REGISTER, "system:test")
        now = utcnow()
        apply_action(
            s, case, Action.DISPATCH, "agent:li", department_code=DEPARTMENT,
            dispatch_deadline=now + timedelta(hours=1), handle_deadline=now + timedelta(days=2),
        )  # fmt: skip
        raise RuntimeError("the request failed after the dispatch")
    assert len(_notices()) == 2 and len(queue.of(JobName.SEND_DEPARTMENT_NOTICE)) == 2

    # Moves that are not a dispatch tell nobody.
    with session_scope() as s:
        apply_action(s, case_row(s, case_id), Action.ACCEPT, "dept:sanitation")
    assert len(_notices()) == 2


def test_a_department_without_contacts_is_told_nothing(queue: RecordingQueue) -> None:
    wire_case_hooks()
    _dispatch()
    assert _notices() == []


def test_head_targets_fall_back_to_the_duty_contacts(queue: RecordingQueue) -> None:
    with session_scope() as s:
        s.add(DepartmentContact(department_code=DEPARTMENT, name="值班员小王", phone=DUTY_PHONE, role="duty"))
        case_id, _ = case_with_clock(s, utcnow())
        case = case_row(s, case_id)
        content = notices.NoticeContent(notices.NoticeEvent.URGE, "催办", None)
        written = notices.write_notices(s, case, DEPARTMENT, [Target.HEAD], content, "t:1")
        again = notices.write_notices(s, case, DEPARTMENT, [Target.HEAD], content, "t:1")
        assert [n.target for n in written] == ["1"] and again == []  # one per key, however often asked


def test_sms_reaches_the_contact_through_twilio(queue: RecordingQueue, twilio_env: TwilioStandIn) -> None:
    notice_id = _one_notice("sms", webhook_url=None)
    assert notices.send_department_notice(notice_id) == "sent"
    assert notices.send_department_notice(notice_id) is None  # sent already: nothing to do
    sent = twilio_env.messages()
    assert len(sent) == 1 and sent[0]["To"] == DUTY_PHONE and sent[0]["From"] == tf.HOTLINE
    assert "新派遣工单" in sent[0]["Body"] and "签收" in sent[0]["Body"]
    (notice,) = _notices(id=notice_id)
    assert notice.state == "sent" and notice.attempts == 1 and notice.sent_at is not None
    with session_scope() as s:
        om = s.exec(select(OutboundMessage).where(OutboundMessage.dedupe_key == notice.key)).one()
        assert om.purpose == "department_notice" and om.status == "sent" and om.case_id == notice.case_id


def test_sms_retried_after_twilio_errors_then_sent_once(queue: RecordingQueue, twilio_env: TwilioStandIn) -> None:
    notice_id = _one_notice("sms", webhook_url=None)
    twilio_env.fail_next(500, 3)  # HOTLINE_TWILIO_MAX_ATTEMPTS (3) inside one attempt of the job
    with pytest.raises(notices.NoticeNotSent, match="attempt 1 of 4"):
        notices.send_department_notice(notice_id)
    (notice,) = _notices(id=notice_id)
    assert notice.state == "pending" and notice.attempts == 1
    assert notice.last_error and "13900139" not in notice.last_error
    assert notices.send_department_notice(notice_id) == "sent"
    assert len(twilio_env.messages()) == 4
    assert _notices(id=notice_id)[0].attempts == 2


def test_sms_without_twilio_fails_at_once_and_is_listed(queue: RecordingQueue) -> None:
    notice_id = _one_notice("sms", webhook_url=None)
    assert notices.send_department_notice(notice_id) == "failed"  # nothing to retry until it is configured
    (notice,) = _notices(id=notice_id)
    assert notice.attempts == 1 and "Twilio is not configured" in (notice.last_error or "")
    with session_scope() as s:
        assert [n.id for n in notices.problem_notices(s)] == [notice_id]


def test_sms_goes_to_the_contact_an_admin_put_in_its_place(queue: RecordingQueue, twilio_env: TwilioStandIn) -> None:
    from routing.department_contacts import save_contact

    notice_id = _one_notice("sms", webhook_url=None)
    with session_scope() as s:
        save_contact(s, DEPARTMENT, name="值班员小赵", phone=HEAD_PHONE, role="duty", actor="admin:root", replaces=1)
    assert notices.send_department_notice(notice_id) == "sent"
    assert [m["To"] for m in twilio_env.messages()] == [HEAD_PHONE]


def test_webhook_signed_retried_and_delivered_once(
    queue: RecordingQueue, receiver: WebhookReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    notice_id = _one_notice("webhook", webhook_url=receiver.url)
    receiver.statuses = [500, 503]
    for attempt in (1, 2):
        with pytest.raises(notices.NoticeNotSent, match=f"attempt {attempt} of 4.*HTTP 50"):
            notices.send_department_notice(notice_id)
    assert notices.send_department_notice(notice_id) == "sent"
    assert notices.send_department_notice(notice_id) is None
    first, second, third = receiver.deliveries
    assert all(d.valid for d in receiver.deliveries)  # signature and timestamp as the docs say
    assert first.delivery_id == second.delivery_id == third.delivery_id and first.body == third.body
    assert [d.answered for d in receiver.deliveries] == [500, 503, 200]
    body = third.json
    (notice,) = _notices(id=notice_id)
    assert body["delivery_id"] == notice.payload["delivery_id"] and body["event"] == "dispatch"
    assert body["case_number"] == notice.payload["case_number"] and body["status"] == "dispatched"
    assert body["deadline"] and body["deadline"].endswith("+08:00")
    assert notice.state == "sent" and notice.attempts == 3


def test_webhook_out_of_attempts_is_failed_listed_and_retried_by_hand(
    queue: RecordingQueue, receiver: WebhookReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOTLINE_JOB_MAX_ATTEMPTS", "3")
    reset_settings()
    notice_id = _one_notice("webhook", webhook_url=receiver.url)
    receiver.statuses = [500, 500, 500]
    for _ in range(2):
        with pytest.raises(notices.NoticeNotSent):
            notices.send_department_notice(notice_id)
    assert notices.send_department_notice(notice_id) == "failed"  # the last attempt: no more raising
    assert notices.send_department_notice(notice_id) is None  # a failed notice waits for a person
    assert len(receiver.deliveries) == 3

    listed = runner.invoke(cli, ["notices", "list", "--failed"], env={"COLUMNS": "250"})
    assert listed.exit_code == 0, listed.output
    assert "failed" in listed.output and "dispatch" in listed.output and "HTTP 500" in listed.output
    retried = runner.invoke(cli, ["notices", "retry", str(notice_id), "--actor", "admin:root"], env={"COLUMNS": "250"})
    assert retried.exit_code == 0, retried.output
    assert f"notice {notice_id} retried: sent" in retried.output  # the CLI ran the job after its commit
    (notice,) = _notices(id=notice_id)
    assert notice.state == "sent" and notice.payload["retried"][0]["by"] == "admin:root"
    assert receiver.deliveries[-1].repeat is False and receiver.deliveries[-1].valid
    again = runner.invoke(cli, ["notices", "retry", str(notice_id)])
    assert again.exit_code == 1 and "已发送" in again.output


def test_a_webhook_that_refuses_for_good_fails_at_once(queue: RecordingQueue, receiver: WebhookReceiver) -> None:
    notice_id = _one_notice("webhook", webhook_url=receiver.url)
    receiver.statuses = [410]
    assert notices.send_department_notice(notice_id) == "failed"
    assert _notices(id=notice_id)[0].last_error == "接口返回 HTTP 410"


def test_the_job_queue_retries_with_back_off(
    env: Path, receiver: WebhookReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through a real queue's retries (the CLI's foreground queue, which backs off like RQ's Retry)."""
    from hotline.wiring import ForegroundQueue

    monkeypatch.setenv("HOTLINE_JOB_MAX_ATTEMPTS", "3")
    reset_settings()
    q = RecordingQueue()
    jobs.set_queue(q)
    notice_id = _one_notice("webhook", webhook_url=receiver.url)
    receiver.statuses = [502, 502]
    ForegroundQueue(kernel_settings()).enqueue(JobName.SEND_DEPARTMENT_NOTICE, notice_id)
    (notice,) = _notices(id=notice_id)
    assert notice.state == "sent" and notice.attempts == 3
    assert [d.answered for d in receiver.deliveries] == [502, 502, 200]
    jobs.set_queue(None)


def test_a_removed_webhook_or_contact_fails_the_notice(queue: RecordingQueue) -> None:
    notice_id = _one_notice("webhook")
    with session_scope() as s:
        hook = s.get(DepartmentWebhook, DEPARTMENT)
        assert hook is not None
        hook.active = False
        s.add(hook)
    assert notices.send_department_notice(notice_id) == "failed"
    assert "停用" in (_notices(id=notice_id)[0].last_error or "")


def test_signature_verification_refuses_tampering_and_old_timestamps() -> None:
    body = json.dumps({"delivery_id": "d1", "event": "urge"})
    ts = "1800000000"
    sig = notices.sign(SECRET, ts, body)
    assert notices.verify_signature(SECRET, ts, body, sig, now=1800000000 + 299)
    assert not notices.verify_signature(SECRET, ts, body + " ", sig, now=1800000000)
    assert not notices.verify_signature("whsec_other", ts, body, sig, now=1800000000)
    assert not notices.verify_signature(SECRET, ts, body, sig, now=1800000000 + 301)
    assert not notices.verify_signature(SECRET, "18e8", body, sig, now=1800000000)
    assert notices.canonical_body({"text": "催办", "event": "urge", "retried": [1]}).startswith('{"case_number":null')


def test_no_hooks_no_department_notices(queue: RecordingQueue) -> None:
    with session_scope() as s:
        add_contacts(s)
    hooks.clear()
    _dispatch()
    assert _notices() == []


def test_a_broken_ladder_file_does_not_stop_a_dispatch(
    queue: RecordingQueue, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = tmp_path / "ladder.yaml"
    broken.write_text("steps: [{name: x}]\n", encoding="utf-8")
    monkeypatch.setenv("HOTLINE_ESCALATION_LADDER_PATH", str(broken))
    reset_settings()
    wire_case_hooks()
    with session_scope() as s:
        add_contacts(s)
    _dispatch()
    assert [n.channel for n in _notices()] == ["sms", "webhook"]  # the shipped targets: duty and webhook
