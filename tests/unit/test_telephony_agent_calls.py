"""Calls to an agent's own phone (接听下一位, 回访) against the local Twilio stand-in: the use cases store a
row, the job places the REST call after commit, and Twilio's webhooks (signed as Twilio signs them)
bridge the caller or the resident and record how it went."""

from __future__ import annotations

import logging
import uuid
import xml.etree.ElementTree as ET
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select
from twilio.request_validator import RequestValidator

from cases.db import session_scope
from cases.jobnames import JobName
from cases.jobs import run_now
from cases.models import Case, CaseEvent
from intake.telephony import agent_calls
from intake.telephony.agent_calls import AgentCallRefused
from intake.telephony.models import AgentCall
from tests import telephony_fixtures as tf
from tests.telephony_fixtures import ACCOUNT, HOTLINE, PUBLIC, TOKEN, scripted, simulator
from tests.twilio_standin import TwilioStandIn

standin, twilio_env = tf.standin, tf.twilio_env  # fixtures

AGENT = 7
AGENT_PHONE = "+8613500001111"
CALLER = "+8613800138000"  # the simulator's caller, who reports the case in _reported_case


def _post(client: TestClient, url: str, params: dict[str, str], *, signed: bool = True) -> Any:
    """A webhook as Twilio sends it: to our public URL, signed over that URL and the form."""
    path = url[len(PUBLIC) :] if url.startswith(PUBLIC) else url
    params = {"AccountSid": ACCOUNT, "ApiVersion": "2010-04-01", **params}
    headers = {"X-Twilio-Signature": RequestValidator(TOKEN).compute_signature(PUBLIC + path, params)}
    return client.post(path, data=params, headers=headers if signed else {})


def _ring_next(phone: str | None = AGENT_PHONE) -> int:
    with session_scope() as s:
        row = agent_calls.ring_agent_for_next_caller(s, agent_user_id=AGENT, agent_phone=phone, actor="agent:wang")
        assert row.id is not None and row.status == "queued"
        return row.id  # the commit at the end of this block starts the ring job (synchronous in tests)


def _row(ac_id: int) -> AgentCall:
    with session_scope() as s:
        row = agent_calls.agent_call(s, ac_id)
        assert row is not None
        s.expunge(row)
        return row


def _agent_leg(standin: TwilioStandIn) -> tuple[str, dict[str, Any]]:
    """The one call placed: its sid (as the stand-in answered it, stored on the row) and its form."""
    [call] = standin.calls()
    return call["Url"], call


def _answer(client: TestClient, ac_id: int, url: str) -> ET.Element:
    sid = _row(ac_id).agent_call_sid
    assert sid is not None
    r = _post(client, url, {"CallSid": sid, "From": HOTLINE, "To": AGENT_PHONE, "CallStatus": "in-progress"})
    assert r.status_code == 200, r.text
    return ET.fromstring(r.text)


def _reported_case(client: TestClient) -> int:
    simulator(client).run(scripted("1", "东门菜市场附近有暴露垃圾", "1"))
    with session_scope() as s:
        case = s.exec(select(Case)).one()
        assert case.id is not None
        return case.id


def test_next_caller_rings_the_agent_and_bridges_the_waiting_caller(
    client: TestClient, twilio_env: TwilioStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    bridged: dict[str, Any] = {}

    def caller(kind: str, attrs: dict[str, str]) -> str | None:
        """The caller presses 3 for an agent; while they hold, an agent presses 接听下一位."""
        if kind != "queue":
            return "3"
        twilio_env.set_queue("agents", 1)
        ac_id = _ring_next()
        url, call = _agent_leg(twilio_env)
        assert call["To"] == AGENT_PHONE and call["From"] == HOTLINE
        assert urlparse(url).path == "/twilio/agent/answer" and url.startswith(PUBLIC)
        assert call["StatusCallback"].startswith(PUBLIC + "/twilio/agent/status?ac=")
        assert call["Timeout"] == "20"
        # The agent picks up: their leg dials the agents' queue
        twiml = _answer(client, ac_id, url)
        dial = twiml.find("Dial")
        assert dial is not None and dial.get("action", "").startswith(PUBLIC + "/twilio/agent/dial?ac=")
        queue = dial.find("Queue")
        assert queue is not None and queue.text == "agents"
        dequeue_url = queue.get("url", "")
        assert urlparse(dequeue_url).path == "/twilio/agent/dequeue"
        # Twilio dequeues the caller: <Queue url> is requested on the CALLER's leg
        form = {
            "CallSid": sim.call_sid,
            "From": CALLER,
            "To": HOTLINE,
            "QueueSid": "QU" + "0" * 32,
            "QueueTime": "12",
            "DequeingCallSid": _row(ac_id).agent_call_sid or "",
        }
        first = _post(client, dequeue_url, form)
        assert first.status_code == 200
        said = ET.fromstring(first.text).find("Say")
        assert said is not None and said.text == "正在为您接通坐席。"
        assert {el.tag for el in ET.fromstring(first.text)} <= {"Say", "Play", "Pause", "Redirect"}
        bridged.update(ac_id=ac_id, row=_row(ac_id), retry=_post(client, dequeue_url, form))
        return "bridged"

    sim = simulator(client)
    with caplog.at_level(logging.DEBUG):
        sim.run(caller)
    row, retried = bridged["row"], bridged["retry"]
    assert row.status == "bridged" and row.purpose == "next_caller"
    assert row.resident_phone == CALLER and row.resident_call_sid == sim.call_sid
    assert row.answered_at is not None and row.bridged_at is not None
    # Twilio retried the dequeue webhook: the same answer, nothing moved
    assert retried.status_code == 200 and "正在为您接通坐席" in retried.text
    assert _row(row.id).bridged_at == row.bridged_at
    with session_scope() as s:
        current = agent_calls.current_agent_call(s, AGENT)
        assert current is not None and current.id == row.id and current.resident_phone == CALLER
        assert agent_calls.current_agent_call(s, AGENT + 1) is None
        assert agent_calls.agent_call(s, row.id, agent_user_id=AGENT + 1) is None  # not another agent's
    # The conversation ends: the Dial's action, then the agent leg's final status
    _post(
        client, agent_calls.webhook_url("/dial", row.id), {"CallSid": row.agent_call_sid, "DialCallStatus": "completed"}
    )
    _post(
        client, agent_calls.webhook_url("/status", row.id), {"CallSid": row.agent_call_sid, "CallStatus": "completed"}
    )
    done = _row(row.id)
    assert done.status == "completed" and done.dial_outcome == "completed" and done.ended_at is not None
    with session_scope() as s:
        assert agent_calls.current_agent_call(s, AGENT) is None
    for phone in (CALLER, AGENT_PHONE, CALLER[3:], AGENT_PHONE[3:]):
        assert phone not in caplog.text


def test_unsigned_or_forged_webhooks_are_refused(client: TestClient, twilio_env: TwilioStandIn) -> None:
    ac_id = _ring_next()
    sid = _row(ac_id).agent_call_sid
    for path in ("/answer", "/dequeue", "/resident", "/dial", "/status"):
        url = agent_calls.webhook_url(path, ac_id)
        params = {"CallSid": sid or "", "DequeingCallSid": sid or "", "CallStatus": "in-progress"}
        assert _post(client, url, params, signed=False).status_code == 403
        forged = {"X-Twilio-Signature": RequestValidator("another-token").compute_signature(url, params)}
        assert client.post(url[len(PUBLIC) :], data=params, headers=forged).status_code == 403
    row = _row(ac_id)
    assert row.status == "ringing" and row.answered_at is None and row.resident_call_sid is None


def test_a_webhook_for_another_call_changes_nothing(client: TestClient, twilio_env: TwilioStandIn) -> None:
    ac_id = _ring_next()
    other = "CA" + uuid.uuid4().hex
    twiml = ET.fromstring(_post(client, agent_calls.webhook_url("/answer", ac_id), {"CallSid": other}).text)
    assert twiml.find("Dial") is None and twiml.find("Hangup") is not None
    r = _post(client, agent_calls.webhook_url("/dequeue", ac_id), {"CallSid": "CA1", "DequeingCallSid": other})
    assert r.status_code == 200  # the caller is still told they are being connected
    row = _row(ac_id)
    assert row.status == "ringing" and row.resident_call_sid is None and row.agent_call_sid != other
    for hook in ("/answer", "/dequeue", "/resident", "/dial", "/status"):  # a call we never placed
        r = _post(client, agent_calls.webhook_url(hook, ac_id + 1000), {"CallSid": other, "DequeingCallSid": other})
        assert r.status_code in (200, 204) and "<Dial" not in r.text


def test_ring_job_run_twice_places_one_call(client: TestClient, twilio_env: TwilioStandIn) -> None:
    ac_id = _ring_next()
    run_now(JobName.RING_AGENT, ac_id)  # a retried or duplicated job
    run_now(JobName.RING_AGENT, ac_id)
    [call] = twilio_env.calls()
    assert parse_qs(urlparse(call["Url"]).query) == {"ac": [str(ac_id)]}
    assert set(call["StatusCallbackEvent"]) == {"ringing", "answered", "completed"}
    row = _row(ac_id)
    assert row.status == "ringing" and row.agent_call_sid and row.agent_call_sid.startswith("CA")


def test_ring_is_refused_with_a_reason(client: TestClient, twilio_env: TwilioStandIn) -> None:
    with session_scope() as s:
        for phone, message in ((None, "没有登记电话号码"), ("12", "电话号码无效")):
            with pytest.raises(AgentCallRefused, match=message):
                agent_calls.ring_agent_for_next_caller(s, agent_user_id=AGENT, agent_phone=phone)
    twilio_env.set_queue("agents", 0)
    with session_scope() as s, pytest.raises(AgentCallRefused, match="当前没有等待接听的来电"):
        agent_calls.ring_agent_for_next_caller(s, agent_user_id=AGENT, agent_phone=AGENT_PHONE)
    assert twilio_env.calls() == []
    twilio_env.set_queue("agents", 2)
    _ring_next()
    with session_scope() as s, pytest.raises(AgentCallRefused, match="正在呼叫您的电话"):  # a double click
        agent_calls.ring_agent_for_next_caller(s, agent_user_id=AGENT, agent_phone=AGENT_PHONE)
    assert len(twilio_env.calls()) == 1


def test_agent_who_does_not_answer_frees_the_console(client: TestClient, twilio_env: TwilioStandIn) -> None:
    ac_id = _ring_next()
    sid = _row(ac_id).agent_call_sid
    status = agent_calls.webhook_url("/status", ac_id)
    assert _post(client, status, {"CallSid": sid, "CallStatus": "ringing"}).status_code == 204
    assert _post(client, status, {"CallSid": sid, "CallStatus": "no-answer"}).status_code == 204
    assert _post(client, status, {"CallSid": sid, "CallStatus": "ringing"}).status_code == 204  # late, out of order
    row = _row(ac_id)
    assert row.status == "no_answer" and row.ended_at is not None and row.answered_at is None
    with session_scope() as s:
        assert agent_calls.current_agent_call(s, AGENT) is None
    _ring_next()  # the agent may try again at once


def test_queue_emptied_before_the_agent_answered(client: TestClient, twilio_env: TwilioStandIn) -> None:
    ac_id = _ring_next()
    url, _ = _agent_leg(twilio_env)
    _answer(client, ac_id, url)
    sid = _row(ac_id).agent_call_sid
    r = _post(client, agent_calls.webhook_url("/dial", ac_id), {"CallSid": sid, "DialCallStatus": "completed"})
    assert "当前没有等待接听的来电" in r.text and ET.fromstring(r.text).find("Hangup") is not None
    row = _row(ac_id)
    assert row.status == "no_answer" and row.resident_phone is None


def _ring_callback(case_id: int, resident: str | None = CALLER) -> int:
    with session_scope() as s:
        row = agent_calls.ring_agent_for_callback(
            s,
            agent_user_id=AGENT,
            agent_phone=AGENT_PHONE,
            case_id=case_id,
            resident_phone=resident,
            actor="agent:wang",
        )
        assert row.id is not None
        return row.id


@pytest.mark.usefixtures("no_follow_up_jobs")
def test_callback_rings_agent_then_dials_the_resident_and_records_no_answer(
    client: TestClient, twilio_env: TwilioStandIn
) -> None:
    case_id = _reported_case(client)
    before = len(twilio_env.calls())
    ac_id = _ring_callback(case_id)
    [call] = twilio_env.calls()[before:]
    assert call["To"] == AGENT_PHONE  # the agent first, never the resident directly
    twiml = _answer(client, ac_id, call["Url"])
    dial = twiml.find("Dial")
    assert dial is not None and dial.get("callerId") == HOTLINE
    assert dial.get("action", "").startswith(PUBLIC + "/twilio/agent/dial?ac=")
    number = dial.find("Number")
    assert number is not None and number.text == CALLER
    sid = _row(ac_id).agent_call_sid
    form = {
        "CallSid": sid or "",
        "DialCallStatus": "no-answer",
        "DialCallSid": "CA" + "9" * 32,
        "DialCallDuration": "0",
    }
    r = _post(client, agent_calls.webhook_url("/dial", ac_id), form)
    assert "市民未接听，已记录本次回访" in r.text
    _post(client, agent_calls.webhook_url("/dial", ac_id), form)  # Twilio retried
    _post(client, agent_calls.webhook_url("/status", ac_id), {"CallSid": sid or "", "CallStatus": "completed"})
    row = _row(ac_id)
    assert row.purpose == "callback" and row.case_id == case_id
    assert row.status == "no_answer" and row.dial_outcome == "no-answer" and row.answered_at is not None
    with session_scope() as s:
        notes = s.exec(select(CaseEvent).where(CaseEvent.case_id == case_id, CaseEvent.action == "note")).all()
        attempts = [e for e in notes if e.data.get("agent_call_id") == ac_id]
        assert len(attempts) == 1  # once, though the webhook came twice
        assert attempts[0].actor == "agent:wang" and attempts[0].reason == "回访电话：市民未接听"
        assert [c.id for c in agent_calls.callback_calls(s, case_id)] == [ac_id]


@pytest.mark.usefixtures("no_follow_up_jobs")
def test_callback_answered_by_the_resident(client: TestClient, twilio_env: TwilioStandIn) -> None:
    case_id = _reported_case(client)
    ac_id = _ring_callback(case_id)
    sid = _row(ac_id).agent_call_sid
    twiml = _answer(client, ac_id, agent_calls.webhook_url("/answer", ac_id))
    number = twiml.find("Dial/Number")
    assert number is not None and number.get("statusCallbackEvent") == "answered"
    resident_leg = {"CallSid": "CA" + "8" * 32, "ParentCallSid": sid or "", "CallStatus": "in-progress"}
    for _ in range(2):  # Twilio retried
        assert _post(client, number.get("statusCallback", ""), resident_leg).status_code == 204
    talking = _row(ac_id)
    assert talking.status == "bridged" and talking.resident_call_sid == "CA" + "8" * 32
    assert _post(client, number.get("statusCallback", ""), {**resident_leg, "ParentCallSid": "CA1"}).status_code == 204
    with session_scope() as s:
        current = agent_calls.current_agent_call(s, AGENT)
        assert current is not None and current.id == ac_id and current.resident_phone == CALLER
    form = {
        "CallSid": sid or "",
        "DialCallStatus": "completed",
        "DialCallSid": "CA" + "8" * 32,
        "DialCallDuration": "95",
    }
    r = _post(client, agent_calls.webhook_url("/dial", ac_id), form)
    assert ET.fromstring(r.text).find("Say") is None  # they talked: nothing more to say
    row = _row(ac_id)
    assert row.status == "completed" and row.dial_seconds == 95 and row.resident_call_sid == "CA" + "8" * 32
    assert row.bridged_at == talking.bridged_at


@pytest.mark.usefixtures("no_follow_up_jobs")
def test_callback_refuses_a_number_not_of_the_case(client: TestClient, twilio_env: TwilioStandIn) -> None:
    case_id = _reported_case(client)
    before = len(twilio_env.calls())
    with session_scope() as s:
        with pytest.raises(AgentCallRefused, match="不是这个工单反映人的电话"):
            agent_calls.ring_agent_for_callback(
                s, agent_user_id=AGENT, agent_phone=AGENT_PHONE, case_id=case_id, resident_phone="13912345678"
            )
        with pytest.raises(AgentCallRefused, match="没有可拨打的市民电话"):
            agent_calls.ring_agent_for_callback(
                s, agent_user_id=AGENT, agent_phone=AGENT_PHONE, case_id=case_id, resident_phone=None
            )
        with pytest.raises(AgentCallRefused, match="工单不存在"):
            agent_calls.ring_agent_for_callback(
                s, agent_user_id=AGENT, agent_phone=AGENT_PHONE, case_id=case_id + 99, resident_phone=CALLER
            )
    assert len(twilio_env.calls()) == before


def test_rest_failure_marks_the_call_failed(client: TestClient, twilio_env: TwilioStandIn) -> None:
    twilio_env.fail_next(400)  # Twilio refuses (a bad number): not retried
    ac_id = _ring_next()
    row = _row(ac_id)
    assert row.status == "failed" and row.last_error and "400" in row.last_error and row.ended_at is not None
    assert len(twilio_env.calls()) == 1
