"""Taking a call from the console against the local Twilio stand-in: 接听下一位 rings the agent's own
phone; once Twilio's (signed) dequeue webhook says which caller was bridged, the call panel shows that
caller — masked — with their earlier cases, and a button that types their case with their number."""

from __future__ import annotations

import re
import uuid
import xml.etree.ElementTree as ET
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlmodel import select
from twilio.request_validator import RequestValidator

from cases.db import session_scope
from cases.models import Case, Report
from cases.states import Channel
from intake.core import accept
from intake.schemas import ReportIn
from intake.telephony import agent_calls
from intake.telephony.models import AgentCall
from tests import telephony_fixtures as tf
from tests.console_helpers import login, make_user
from tests.telephony_fixtures import ACCOUNT, HOTLINE, PUBLIC, TOKEN
from tests.twilio_standin import TwilioStandIn

standin, twilio_env = tf.standin, tf.twilio_env  # fixtures

AGENT_PHONE = "+8613500001111"
CALLER = "+8613800138000"
HTMX = {"HX-Request": "true"}


@pytest.fixture
def client(client: TestClient, twilio_env: TwilioStandIn) -> TestClient:
    """Over https: with an https public base URL (Twilio's webhooks need one) the session cookie is Secure."""
    client.base_url = httpx.URL("https://testserver")
    return client


def _signed(client: TestClient, url: str, params: dict[str, str]) -> Any:
    """A webhook as Twilio sends it: to our public URL, signed over that URL and the form."""
    path = url[len(PUBLIC) :]
    params = {"AccountSid": ACCOUNT, "ApiVersion": "2010-04-01", **params}
    signature = RequestValidator(TOKEN).compute_signature(url, params)
    r = client.post(path, data=params, headers={"X-Twilio-Signature": signature})
    assert r.status_code == 200, r.text
    return r


def _earlier_case() -> str:
    with session_scope() as s:
        accept(s, ReportIn(channel=Channel.WEB, external_id="earlier", text="东门菜市场门口有暴露垃圾", phone=CALLER))
    with session_scope() as s:
        report = s.exec(select(Report)).one()
        case = s.get(Case, report.case_id)
        assert case is not None
        return case.number


def _the_call() -> AgentCall:
    with session_scope() as s:
        row = s.exec(select(AgentCall)).one()
        s.expunge(row)
        return row


def test_next_caller_rings_the_agent_then_pops_the_callers_history(
    client: TestClient, twilio_env: TwilioStandIn
) -> None:
    number = _earlier_case()
    user = make_user("li", "agent", display_name="李晓", phone="135 0000 1111")
    csrf = login(client, "li")
    assert 'id="next-caller"' in client.get("/console/new").text  # the button is in the page shell
    assert client.get("/console/calls/current").text.strip() == ""  # no call, no panel
    twilio_env.set_queue("agents", 1)

    rung = client.post("/console/calls/next", headers={"X-CSRF-Token": csrf, **HTMX})
    assert rung.status_code == 200
    assert "正在呼叫您的电话 135****1111" in rung.text and 'hx-trigger="every 2s"' in rung.text
    [placed] = twilio_env.calls()
    assert placed["To"] == AGENT_PHONE and placed["From"] == HOTLINE
    row = _the_call()
    assert row.agent_user_id == user.id and row.actor == "agent:li" and row.status == "ringing"
    assert row.agent_call_sid

    # The agent picks up: their leg dials the agents' queue
    answer = _signed(client, placed["Url"], {"CallSid": row.agent_call_sid, "From": HOTLINE, "To": AGENT_PHONE})
    queue = ET.fromstring(answer.text).find("Dial/Queue")
    assert queue is not None
    assert "正在转接" in client.get("/console/calls/current", headers=HTMX).text

    # Twilio hands over the longest-waiting caller (the <Queue url> webhook, on the caller's leg)
    caller_sid = "CA" + uuid.uuid4().hex
    form = {"CallSid": caller_sid, "From": CALLER, "To": HOTLINE, "DequeingCallSid": row.agent_call_sid}
    _signed(client, queue.get("url", ""), form | {"QueueSid": "QU" + "0" * 32, "QueueTime": "30"})
    pop = client.get("/console/calls/current", headers=HTMX)
    assert pop.status_code == 200
    assert "通话中" in pop.text and "138****8000" in pop.text
    assert CALLER not in pop.text and CALLER[3:] not in pop.text  # masked
    assert f'href="/console/cases/{number}"' in pop.text
    assert f'href="/console/new?call={row.id}"' in pop.text

    # Typing the caller's case: their number comes from the call, their history is shown at once
    page = client.get(f"/console/new?call={row.id}")
    assert number in page.text and "已取自当前来电 138****8000" in page.text and CALLER[3:] not in page.text
    key = re.search(r'name="key" value="([0-9a-f]{32})"', page.text)
    assert key
    data = {"csrf_token": csrf, "key": key.group(1), "call_id": str(row.id), "description": "考棚街路灯不亮"}
    assert client.post("/console/new", data=data, follow_redirects=False).status_code == 303
    with session_scope() as s:
        typed = s.exec(select(Report).where(Report.channel == "agent")).one()
        assert typed.phone == CALLER

    # The call ends: the panel goes away
    _signed(
        client,
        agent_calls.webhook_url("/dial", row.id or 0),
        {"CallSid": row.agent_call_sid, "DialCallStatus": "completed"},
    )
    assert client.get("/console/calls/current").text.strip() == ""


def test_no_phone_no_queue_and_someone_elses_call_are_refused(client: TestClient, twilio_env: TwilioStandIn) -> None:
    make_user("zhao", "agent")  # no phone on the account
    csrf = login(client, "zhao")
    twilio_env.set_queue("agents", 1)
    r = client.post("/console/calls/next", headers={"X-CSRF-Token": csrf, **HTMX})
    assert r.status_code == 422 and "没有登记电话号码" in r.text and "联系管理员" in r.text
    li = make_user("li", "agent", phone="13500001111")
    client.cookies.clear()
    csrf = login(client, "li")
    twilio_env.set_queue("agents", 0)
    r = client.post("/console/calls/next", headers={"X-CSRF-Token": csrf, **HTMX})
    assert r.status_code == 422 and "当前没有等待接听的来电" in r.text
    assert twilio_env.calls() == []
    # Another agent's call never lends its caller to this form
    with session_scope() as s:
        other = AgentCall(agent_user_id=999, actor="agent:other", purpose="next_caller", agent_phone=AGENT_PHONE)
        other.resident_phone, other.status = CALLER, "bridged"
        s.add(other)
        s.flush()
        other_id = other.id
    assert "138****8000" not in client.get(f"/console/new?call={other_id}").text
    # A 回访 call on the agent's phone is told apart from a queue call
    with session_scope() as s:
        s.add(AgentCall(agent_user_id=li.id or 0, actor="agent:li", purpose="callback", agent_phone=AGENT_PHONE))
    panel = client.get("/console/calls/current").text
    assert "接听后自动拨打市民电话" in panel and "等候最久" not in panel
