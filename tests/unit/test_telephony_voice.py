"""Whole calls as sequences of signed webhooks through the app (TwiML parsed and checked)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select
from twilio.request_validator import RequestValidator

from cases.db import session_scope
from cases.jobnames import JobName
from cases.models import Case, Report
from intake.telephony.models import CallSession, CallStep, OutboundMessage
from tests import telephony_fixtures as tf
from tests.telephony_fixtures import PUBLIC, TOKEN, scripted, simulator
from tests.twilio_standin import TwilioStandIn

standin, twilio_env = tf.standin, tf.twilio_env  # fixtures


def _reports() -> list[Report]:
    with session_scope() as s:
        return list(s.exec(select(Report)).all())


@pytest.mark.usefixtures("no_follow_up_jobs")
def test_reporting_call_ends_with_dispatched_case_and_sms(client: TestClient, twilio_env: TwilioStandIn) -> None:
    sim = simulator(client)
    said = sim.run(scripted("1", "东门菜市场附近有暴露垃圾，好几天没人清理", "1"))
    assert any("12319城市管理服务热线" in s for s in said)
    assert "您反映的是东门菜市场附近的暴露垃圾问题，对吗？确认请按1，重新描述请按2，转人工请按3。" in said
    [report] = _reports()
    assert report.channel == "voice" and report.external_id == sim.call_sid
    assert report.phone == "+8613800138000"
    with session_scope() as s:
        case = s.get(Case, report.case_id)
        assert case is not None
        assert case.status == "dispatched"
        assert case.category_code == "06010"
        assert case.grid_code == "421102001001001"  # 东门社区第1网格: 东门菜市场
        number = case.number
        cs = s.exec(select(CallSession).where(CallSession.call_sid == sim.call_sid)).one()
        assert cs.report_id == report.id and cs.case_id == case.id and cs.status == "completed"
        steps = s.exec(select(CallStep).where(CallStep.call_sid == sim.call_sid)).all()
        assert [st.step for st in steps] == ["start", "menu", "report", "confirm"]
        assert steps[2].speech and steps[2].digits is None
        om = s.exec(select(OutboundMessage)).one()
        assert om.status == "sent" and om.twilio_sid and om.twilio_sid.startswith("SM")
    # the case number is read digit by digit
    from ivr_flows.speech import digits_zh

    assert any(digits_zh(number) in s for s in said)
    [sms] = twilio_env.messages()
    assert sms["To"] == "+8613800138000" and sms["From"] == "+8671312319" and number in sms["Body"]


def test_twiml_is_mandarin_and_gather_speech_has_hints(client: TestClient, twilio_env: TwilioStandIn) -> None:
    sim = simulator(client)
    sim.post("/twilio/voice", {"CallStatus": "ringing"})
    menu = ET.fromstring(sim.requests[-1][2])
    say = menu.find("Say")
    assert say is not None and say.get("language") == "cmn-CN" and say.get("voice")
    gather = menu.find("Gather")
    assert gather is not None and gather.get("input") == "dtmf" and gather.get("numDigits") == "1"
    assert gather.get("action", "").startswith("/twilio/voice/main/menu/input?n=")
    assert menu.find("Redirect") is not None  # silence does not end the call
    body = sim.post(gather.get("action", ""), {"Digits": "1"})
    g = ET.fromstring(body).find("Gather")
    assert g is not None and g.get("input") == "speech" and g.get("language") == "zh-CN"
    assert "东门菜市场" in (g.get("hints") or "") and "暴露垃圾" in (g.get("hints") or "")


def test_forged_signature_is_refused_and_nothing_stored(client: TestClient, twilio_env: TwilioStandIn) -> None:
    params = {"CallSid": "CAforged", "From": "+8613800138000", "To": "+8671312319", "CallStatus": "ringing"}
    good = RequestValidator(TOKEN).compute_signature(PUBLIC + "/twilio/voice", params)
    assert client.post("/twilio/voice", data=params, headers={"X-Twilio-Signature": "bogus"}).status_code == 403
    assert client.post("/twilio/voice", data=params).status_code == 403  # missing
    tampered = params | {"From": "+8613900000000"}
    assert client.post("/twilio/voice", data=tampered, headers={"X-Twilio-Signature": good}).status_code == 403
    # signed for another host (the proxy's inside address) does not pass either
    inside = RequestValidator(TOKEN).compute_signature("http://testserver/twilio/voice", params)
    assert client.post("/twilio/voice", data=params, headers={"X-Twilio-Signature": inside}).status_code == 403
    sms = {"MessageSid": "SMforged", "From": "+8613800138000", "Body": "东门菜市场暴露垃圾"}
    assert client.post("/twilio/sms", data=sms, headers={"X-Twilio-Signature": good}).status_code == 403
    with session_scope() as s:
        assert s.exec(select(CallSession)).all() == []
        assert s.exec(select(CallStep)).all() == []
    assert _reports() == []
    # and the correct signature over the public URL passes
    assert client.post("/twilio/voice", data=params, headers={"X-Twilio-Signature": good}).status_code == 200


@pytest.mark.usefixtures("no_follow_up_jobs")
def test_replayed_webhooks_create_nothing_new(client: TestClient, twilio_env: TwilioStandIn) -> None:
    sim = simulator(client)
    sim.run(scripted("1", "青砖湖公园路灯坏了", "1"))
    [report] = _reports()
    with session_scope() as s:
        cases_before = len(s.exec(select(Case)).all())
        steps_before = len(s.exec(select(CallStep)).all())
    # Twilio retries every webhook of the call (same URL, same params, same signature)
    for path, params, body in list(sim.requests):
        sig = RequestValidator(TOKEN).compute_signature(PUBLIC + path, params)
        r = client.post(path, data=params, headers={"X-Twilio-Signature": sig})
        assert r.status_code in (200, 204)
        if r.status_code == 200:
            assert r.text == body  # the same answer as the first time
    assert [r.id for r in _reports()] == [report.id]
    with session_scope() as s:
        assert len(s.exec(select(Case)).all()) == cases_before
        assert len(s.exec(select(CallStep)).all()) == steps_before
        assert len(s.exec(select(OutboundMessage)).all()) == 1
    assert len(twilio_env.messages()) == 1


def test_say_it_again_then_confirm(client: TestClient, twilio_env: TwilioStandIn) -> None:
    sim = simulator(client)
    said = sim.run(scripted("1", "东门菜市场附近有暴露垃圾", "2", "青砖湖公园路灯坏了", "1"))
    assert any("青砖湖公园附近的路灯" in s for s in said)
    [report] = _reports()
    assert report.text == "青砖湖公园路灯坏了"


def test_silence_gets_one_clearer_retry_then_an_agent(client: TestClient, twilio_env: TwilioStandIn) -> None:
    sim = simulator(client)
    said = sim.run(scripted(None, None, "leave", "东门巷路灯不亮"))
    assert any("请在电话键盘上按一个数字" in s for s in said)  # the clearer retry prompt
    assert any("正在为您转接人工服务" in s for s in said)
    assert any("前面还有1位" in s for s in said)
    assert any("留言已记录" in s for s in said)  # nobody answered → voicemail, never a dead end
    [report] = _reports()
    assert report.hints.get("needs_review") and report.attachments
    assert "东门巷路灯不亮" in report.text  # the transcription callback added the words
    with session_scope() as s:
        case = s.get(Case, report.case_id)
        assert case is not None and case.needs_review and case.status == "registered"


def test_unclear_speech_retries_then_agent(client: TestClient, twilio_env: TwilioStandIn) -> None:
    sim = simulator(client)
    said = sim.run(scripted("1", "嗯嗯", "我也不知道", "bridged"))
    assert any("没有听清" in s for s in said)
    assert any("正在为您转接人工服务" in s for s in said)
    assert _reports() == []


def test_out_of_hours_greeting_and_voicemail(
    client: TestClient, twilio_env: TwilioStandIn, monkeypatch: object
) -> None:
    import pytest

    mp = pytest.MonkeyPatch()
    mp.setenv("HOTLINE_AGENT_HOURS", "")
    from hotline.settings import reset_settings

    reset_settings()
    try:
        sim = simulator(client)
        said = sim.run(scripted("3", "胜利街菜场门口污水横流"))
        assert "非工作时间" in said[0]
        assert not any("转接人工" in s for s in said)
        [report] = _reports()
        assert report.external_id == f"{sim.call_sid}:voicemail" and report.hints["needs_review"]
    finally:
        mp.undo()
        reset_settings()


def test_progress_query_by_keypad(client: TestClient, twilio_env: TwilioStandIn) -> None:
    simulator(client).run(scripted("1", "东门菜市场附近有暴露垃圾", "1"))
    with session_scope() as s:
        number = s.exec(select(Case)).one().number
    said = simulator(client).run(scripted("2", "12345#", number.split("-", 1)[1].replace("-", "") + "#"))
    assert any("没有找到这个工单" in s for s in said)
    assert any("当前状态：已派遣" in s and "预计在" in s for s in said)


def test_status_and_fallback_are_recorded(client: TestClient, twilio_env: TwilioStandIn) -> None:
    sim = simulator(client)
    body = sim.post("/twilio/voice/fallback", {"ErrorCode": "11200", "ErrorUrl": PUBLIC + "/twilio/voice"})
    root = ET.fromstring(body)
    assert root.find("Record") is not None and root.find("Say") is not None
    sim.post("/twilio/voice/status", {"CallStatus": "completed", "CallDuration": "42"})
    with session_scope() as s:
        cs = s.exec(select(CallSession)).one()
        assert cs.error_code == "11200" and cs.duration_seconds == 42 and cs.ended_at is not None


def test_flow_error_becomes_an_apology_and_voicemail(
    client: TestClient, twilio_env: TwilioStandIn, monkeypatch: object
) -> None:
    import pytest

    from intake.telephony import handlers

    def boom(ctx: object, turn: object) -> str:
        raise RuntimeError("classifier down")

    mp = pytest.MonkeyPatch()
    mp.setitem(handlers.HANDLERS, "classify", boom)
    try:
        sim = simulator(client)
        said = sim.run(scripted("1", "东门菜市场附近有暴露垃圾", "东门菜市场附近有暴露垃圾"))
        assert any("系统暂时出现故障" in s for s in said)
        [report] = _reports()
        assert report.hints["needs_review"]
        with session_scope() as s:
            assert any(st.error for st in s.exec(select(CallStep)).all())
    finally:
        mp.undo()


def test_no_worker_the_call_polls_then_opens_the_case_itself(client: TestClient, twilio_env: TwilioStandIn) -> None:
    from cases import jobs

    class Stalled:  # Redis reachable but no worker: jobs are accepted and never run
        def __init__(self) -> None:
            self.jobs: list[tuple[JobName, tuple[object, ...]]] = []

        def enqueue(self, job: JobName, *args: object) -> None:
            self.jobs.append((job, args))

    stalled = Stalled()
    jobs.set_queue(stalled)
    sim = simulator(client)
    said = sim.run(scripted("1", "东门菜市场附近有暴露垃圾", "1"))
    assert "好的，正在为您登记，请稍候。" in said
    pauses = [body for path, _, body in sim.requests if "/registering/input" in path and "<Pause" in body]
    assert len(pauses) == 2  # two polls found nothing; the third ran the pipeline in the call
    [report] = _reports()
    with session_scope() as s:
        case = s.get(Case, report.case_id)
        assert case is not None and case.status == "dispatched"
    from ivr_flows.speech import digits_zh

    assert any(digits_zh(case.number) in s for s in said)
    assert (JobName.SEND_CASE_NUMBER, (report.id,)) in stalled.jobs
