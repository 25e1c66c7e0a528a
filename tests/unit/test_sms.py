"""SMS intake over signed webhooks: a report with MMS photos, thread follow-ups, queries, keywords."""

from __future__ import annotations

import io
import uuid

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlmodel import select

from cases.db import session_scope
from cases.models import Case, CaseEvent, Report
from intake.models import Attachment
from intake.telephony.models import OutboundMessage, SmsMessage, SmsOptOut
from tests import telephony_fixtures as tf
from tests.telephony_fixtures import ACCOUNT
from tests.twilio_standin import TwilioStandIn

standin, twilio_env = tf.standin, tf.twilio_env  # fixtures

PHONE = "+8613911112222"


def _sms(client: TestClient, body: str, phone: str = PHONE, sid: str | None = None, **extra: str) -> str:
    return tf.send_sms(client, body, phone, sid, **extra)


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(buf, "PNG")
    return buf.getvalue()


def test_sms_report_with_photo_gets_case_number(client: TestClient, twilio_env: TwilioStandIn) -> None:
    sid = "SM" + uuid.uuid4().hex
    media = twilio_env.add_media(ACCOUNT, sid, _png(), "image/png")
    reply = _sms(
        client, "东门菜市场附近有暴露垃圾", sid=sid, NumMedia="1", MediaUrl0=media, MediaContentType0="image/png"
    )
    with session_scope() as s:
        report = s.exec(select(Report)).one()
        case = s.get(Case, report.case_id)
        assert case is not None and case.number in reply and case.category_code == "06010"
        [att_id] = report.attachments
        assert s.get(Attachment, att_id) is not None
    fetched = [r for r in twilio_env.requests if r.method == "GET"]
    assert fetched and fetched[0].account == ACCOUNT  # fetched with the account's credentials via the stand-in
    # Twilio retries the same message: same reply, nothing new
    assert _sms(client, "东门菜市场附近有暴露垃圾", sid=sid, NumMedia="1", MediaUrl0=media) == reply
    with session_scope() as s:
        assert len(s.exec(select(Report)).all()) == 1


def test_follow_ups_within_the_window_join_the_open_report(client: TestClient, twilio_env: TwilioStandIn) -> None:
    first = _sms(client, "青砖湖公园路灯坏了")
    second = _sms(client, "补充：是公园北门那一排")
    _sms(client, "东门菜市场附近有暴露垃圾", phone="+8613733334444")  # another resident: another report
    with session_scope() as s:
        reports = s.exec(select(Report).order_by(Report.id)).all()  # type: ignore[arg-type]
        assert len(reports) == 2
        mine = reports[0]
        assert "补充：是公园北门那一排" in mine.text
        case = s.get(Case, mine.case_id)
        assert case is not None and case.number in first and case.number in second
        notes = s.exec(select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.action == "note")).all()
        assert any(n.reason == "市民短信补充" for n in notes)


def test_window_closed_opens_a_new_report(client: TestClient, twilio_env: TwilioStandIn, monkeypatch: object) -> None:
    import pytest

    from hotline.settings import reset_settings

    mp = pytest.MonkeyPatch()
    mp.setenv("HOTLINE_SMS_THREAD_WINDOW_MINUTES", "0")
    reset_settings()
    try:
        _sms(client, "青砖湖公园路灯坏了")
        _sms(client, "东门菜市场附近有暴露垃圾")
        with session_scope() as s:
            assert len(s.exec(select(Report)).all()) == 2
    finally:
        mp.undo()
        reset_settings()


def test_query_stop_start_help(client: TestClient, twilio_env: TwilioStandIn) -> None:
    _sms(client, "青砖湖公园路灯坏了")
    with session_scope() as s:
        number = s.exec(select(Case)).one().number
    assert "当前状态：已派遣" in _sms(client, f"查询 {number}")
    assert "没有找到" in _sms(client, "查询 12319-20000101-000001")
    assert "退订" in _sms(client, "退订")
    with session_scope() as s:
        assert s.get(SmsOptOut, PHONE) is not None
    assert "恢复" in _sms(client, "START")
    with session_scope() as s:
        assert s.get(SmsOptOut, PHONE) is None
    assert "查询" in _sms(client, "帮助") and "退订" in _sms(client, "HELP")
    _sms(client, "STOP")
    with session_scope() as s:
        kinds = [m.kind for m in s.exec(select(SmsMessage).order_by(SmsMessage.id)).all()]  # type: ignore[arg-type]
    assert kinds == ["report", "query", "query", "stop", "start", "help", "help", "stop"]


def test_forged_sms_is_refused(client: TestClient, twilio_env: TwilioStandIn) -> None:
    r = client.post(
        "/twilio/sms", data={"MessageSid": "SMx", "From": PHONE, "Body": "hi"}, headers={"X-Twilio-Signature": "forged"}
    )
    assert r.status_code == 403
    with session_scope() as s:
        assert s.exec(select(SmsMessage)).all() == [] and s.exec(select(OutboundMessage)).all() == []


def test_a_message_longer_than_a_report_is_stored_clipped_not_lost(
    client: TestClient, twilio_env: TwilioStandIn
) -> None:
    """Twilio joins a long multi-part SMS into one Body: the report keeps what a report can hold, the raw
    webhook keeps every character, and the resident gets a case number instead of a 500 on every retry."""
    body = "胜利街菜场门口垃圾堆了好几天没人清理。" * 800  # 16,000 characters
    reply = _sms(client, body, sid="SMlong1")
    assert "工单号" in reply
    with session_scope() as s:
        report = s.exec(select(Report).where(Report.external_id == "SMlong1")).one()
        assert len(report.text) == 10_000 and body.startswith(report.text)
        assert report.raw["Body"] == body and report.case_id is not None


@pytest.mark.parametrize("sender", ["anonymous", "CMBCHINA", "+" + "1" * 39])
def test_a_sender_that_is_no_phone_number_is_taken_anonymously(
    client: TestClient, twilio_env: TwilioStandIn, sender: str
) -> None:
    """Alphanumeric sender ids and withheld numbers: the report is stored without a phone, not refused."""
    sid = "SM" + uuid.uuid4().hex
    assert "已登记" in _sms(client, "考棚街路灯不亮", phone=sender, sid=sid)
    with session_scope() as s:
        report = s.exec(select(Report).where(Report.external_id == sid)).one()
        assert report.phone is None and report.raw["From"] == sender and report.case_id is not None
