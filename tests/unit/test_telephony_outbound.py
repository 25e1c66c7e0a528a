"""Outbound SMS and calls through the twilio REST client against the local stand-in."""

from __future__ import annotations

import logging
import re
from urllib.parse import urlparse

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from cases.db import session_scope
from cases.lifecycle import Action
from cases.models import Case, CaseEvent
from cases.rating import record_rating
from cases.service import apply_action
from hotline.settings import reset_settings
from intake.telephony import outbound
from intake.telephony.models import OutboundMessage
from intake.telephony.rest import BaseUrlHttpClient
from tests import telephony_fixtures as tf
from tests.telephony_fixtures import PUBLIC, scripted, simulator
from tests.twilio_standin import TwilioStandIn

standin, twilio_env = tf.standin, tf.twilio_env  # fixtures


def _reported_case(client: TestClient) -> int:
    simulator(client).run(scripted("1", "东门菜市场附近有暴露垃圾", "1"))
    with session_scope() as s:
        case = s.exec(select(Case)).one()
        assert case.id is not None
        return case.id


def _handled(case_id: int) -> None:
    with session_scope() as s:
        case = s.get(Case, case_id)
        assert case is not None
        apply_action(s, case, Action.HANDLE, "dept:test")
        apply_action(s, case, Action.VERIFY, "agent:test")
        s.commit()


def test_base_url_rewrite() -> None:
    http = BaseUrlHttpClient("http://127.0.0.1:9999/")
    assert (
        http.rewrite("https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json")
        == "http://127.0.0.1:9999/2010-04-01/Accounts/AC1/Messages.json"
    )
    assert BaseUrlHttpClient(None).rewrite("https://api.twilio.com/x") == "https://api.twilio.com/x"


@pytest.mark.usefixtures("no_follow_up_jobs")
def test_dispatch_notice_once_and_retried_on_5xx(client: TestClient, twilio_env: TwilioStandIn) -> None:
    case_id = _reported_case(client)
    twilio_env.fail_next(500, 2)
    outbound.notify_case_status(case_id)
    outbound.notify_case_status(case_id)  # asked twice: told once
    notices = [m for m in twilio_env.messages() if "已派遣" in m["Body"]]
    assert len(notices) == 3  # two answered 500 by the stand-in, the third went through
    assert {m["StatusCallback"] for m in notices} == {notices[0]["StatusCallback"]}  # one message, retried
    assert notices[0]["To"] == "+8613800138000"
    with session_scope() as s:
        om = s.exec(select(OutboundMessage).where(OutboundMessage.purpose == "dispatch")).one()
        assert om.status == "sent" and om.attempts == 3
        assert om.twilio_sid and om.twilio_sid.startswith("SM")


@pytest.mark.usefixtures("no_follow_up_jobs")
def test_quiet_hours_defer_then_flush(client: TestClient, twilio_env: TwilioStandIn) -> None:
    case_id = _reported_case(client)
    mp = pytest.MonkeyPatch()
    mp.setenv("HOTLINE_QUIET_HOURS", "00:00-24:00")
    reset_settings()
    try:
        outbound.notify_case_status(case_id)
        with session_scope() as s:
            om = s.exec(select(OutboundMessage).where(OutboundMessage.purpose == "dispatch")).one()
            assert om.status == "deferred" and om.not_before is not None
        assert not any("已派遣" in m["Body"] for m in twilio_env.messages())
    finally:
        mp.undo()
        reset_settings()
    with session_scope() as s:
        om = s.exec(select(OutboundMessage).where(OutboundMessage.purpose == "dispatch")).one()
        om.not_before = om.created_at
        s.add(om)
        s.commit()
    assert outbound.flush_due() == 1
    assert any("已派遣" in m["Body"] for m in twilio_env.messages())


@pytest.mark.usefixtures("no_follow_up_jobs")
def test_no_credentials_nothing_outbound_and_a_log_line(
    client: TestClient, twilio_env: TwilioStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    case_id = _reported_case(client)
    before = len(twilio_env.requests)
    mp = pytest.MonkeyPatch()
    mp.delenv("HOTLINE_TWILIO_ACCOUNT_SID")
    reset_settings()
    try:
        with caplog.at_level(logging.WARNING, logger="intake.telephony.outbound"):
            outbound.notify_case_status(case_id)
    finally:
        mp.undo()
        reset_settings()
    assert len(twilio_env.requests) == before
    assert "HOTLINE_TWILIO_ACCOUNT_SID unset" in caplog.text
    with session_scope() as s:
        assert s.exec(select(OutboundMessage).where(OutboundMessage.purpose == "dispatch")).one().status == "skipped"


@pytest.mark.usefixtures("no_follow_up_jobs")
def test_opted_out_number_gets_no_notice(client: TestClient, twilio_env: TwilioStandIn) -> None:
    case_id = _reported_case(client)
    from intake.telephony.models import SmsOptOut

    with session_scope() as s:
        s.add(SmsOptOut(phone="+8613800138000"))
        s.commit()
    outbound.notify_case_status(case_id)
    assert not any("已派遣" in m["Body"] for m in twilio_env.messages())


def test_survey_call_unsatisfied_reopens_the_case(client: TestClient, twilio_env: TwilioStandIn) -> None:
    case_id = _reported_case(client)
    _handled(case_id)
    outbound.start_survey_call(case_id)
    [call] = twilio_env.calls()
    assert call["To"] == "+8613800138000" and call["From"] == "+8671312319"
    url = urlparse(call["Url"])
    assert call["Url"].startswith(PUBLIC) and url.path == "/twilio/voice/survey/ask"
    # Twilio places the call and fetches the URL when the resident answers
    sim = simulator(client, from_number="+8671312319", to_number="+8613800138000")
    said = sim.run(
        scripted("3", "垃圾还是没清走"),
        start=f"{url.path}?{url.query}",
        first={"CallStatus": "in-progress", "Direction": "outbound-api"},
    )
    assert "满意请按1，基本满意请按2，不满意请按3" in said[0] and "暴露垃圾" in said[0]
    assert any("工单已重新交办" in s for s in said)
    with session_scope() as s:
        case = s.get(Case, case_id)
        # reopened, and (the job after the commit) back with its department one grade up
        assert case is not None and (case.status, case.reopen_count) == ("dispatched", 1)
        events = s.exec(select(CaseEvent).where(CaseEvent.case_id == case_id)).all()
        assert any(e.action == "reopen" and e.reason == "回访不满意" for e in events)
        assert any(e.data.get("comment") == "垃圾还是没清走" for e in events)


def test_survey_unsatisfied_that_cannot_reopen_promises_nothing(client: TestClient, twilio_env: TwilioStandIn) -> None:
    # The resident already rated this round on the track page: the call's 不满意 is heard and kept as a
    # comment, but it reopens nothing, so the call must not say 工单已重新交办.
    case_id = _reported_case(client)
    _handled(case_id)
    with session_scope() as s:
        case = s.get(Case, case_id)
        assert case is not None
        assert record_rating(s, case, "satisfied", actor="resident:web", channel="web") == "surveyed"
    sim = simulator(client)
    said = sim.run(scripted("3", "其实还有一点没清"), start=f"/twilio/voice/survey/ask?case_id={case_id}")
    assert not any("工单已重新交办" in line for line in said)
    assert said[-1].startswith("您的意见已记录，我们会转交相关人员核实")
    with session_scope() as s:
        case = s.get(Case, case_id)
        assert case is not None and case.status == "surveyed"
        events = s.exec(select(CaseEvent).where(CaseEvent.case_id == case_id)).all()
        assert any(e.data.get("comment") == "其实还有一点没清" for e in events)


def test_survey_satisfied(client: TestClient, twilio_env: TwilioStandIn) -> None:
    case_id = _reported_case(client)
    _handled(case_id)
    sim = simulator(client)
    said = sim.run(scripted("1"), start=f"/twilio/voice/survey/ask?case_id={case_id}")
    assert said[-1].startswith("感谢您的评价")
    with session_scope() as s:
        case = s.get(Case, case_id)
        assert case is not None and case.status == "surveyed"


def test_unanswered_survey_falls_back_to_sms_link(client: TestClient, twilio_env: TwilioStandIn) -> None:
    case_id = _reported_case(client)
    _handled(case_id)
    outbound.start_survey_call(case_id)
    [call] = twilio_env.calls()
    status = urlparse(call["StatusCallback"])
    sim = simulator(client)
    sim.post(f"{status.path}?{status.query}", {"CallStatus": "no-answer", "CallDuration": "0"})
    links = [m for m in twilio_env.messages() if "请您评价" in m["Body"]]
    assert len(links) == 1
    link = re.search(r"/h5/t/[A-Za-z0-9_-]+", links[0]["Body"])
    assert link, links[0]["Body"]
    page = client.get(link.group(0))  # the link alone opens the reporter's case, ready to rate
    assert page.status_code == 200 and "rate-form" in page.text
