"""A rule's `notify` action: when the rules dispatch a case, each department named gets the 抄送 SMS at its
duty contacts (no webhook: the case is not theirs), and each phone number named gets an SMS — the notice
naming the number by its place in the published rule, so no notice row and no log line holds it."""

from __future__ import annotations

from sqlmodel import col, select

from cases.db import session_scope
from cases.models import CaseEvent
from hotline.wiring import wire_case_hooks
from routing import notices
from routing.models import DepartmentNotice
from tests import telephony_fixtures as tf
from tests.escalation_fixtures import DUTY_PHONE, RecordingQueue, add_contacts, recording_queue
from tests.rules_helpers import publish, route_report, shipped, with_actions
from tests.twilio_standin import TwilioStandIn

standin, twilio_env = tf.standin, tf.twilio_env  # fixtures
__all__ = ["recording_queue"]  # a fixture the tests below use
COPY_PHONE = "+8613700137001"


def _dispatched(version_notify: list[str]) -> tuple[int, int]:
    """A report of 暴露垃圾 routed by rules whose first rule notifies `version_notify`: (version, event id)."""
    version = publish(with_actions(shipped(), "garbage-exposed", notify=tuple(version_notify)), note="抄送")
    wire_case_hooks()
    with session_scope() as s:
        add_contacts(s)  # sanitation: duty, head, webhook
        add_contacts(s, department="municipal", webhook_url="http://127.0.0.1:9/municipal")
    route_report("notify-1")
    with session_scope() as s:
        event = s.exec(select(CaseEvent).where(CaseEvent.action == "dispatch")).one()
        assert event.data["notify"] == version_notify and event.id is not None
        return version, event.id


def _rows() -> list[DepartmentNotice]:
    with session_scope() as s:
        return list(s.exec(select(DepartmentNotice).order_by(col(DepartmentNotice.id))))


def test_departments_and_numbers_named_by_the_rule_are_told(recording_queue: RecordingQueue) -> None:
    version, event_id = _dispatched(["municipal", "137 0013 7001"])
    rows = _rows()
    keys = [(n.key, n.department_code, n.channel, n.target) for n in rows]
    copies = [k for k in keys if ":notify:" in k[0]]
    assert copies == [
        (f"dispatch:{event_id}:notify:municipal:sms:3", "municipal", "sms", "3"),  # municipal's duty contact
        (f"dispatch:{event_id}:notify:phone:1", "sanitation", "sms", f"rule:{version}:garbage-exposed:1"),
    ]
    assert len(keys) == 4  # and sanitation's own: its duty SMS and its webhook
    for n in rows:
        assert "13700137001" not in str(n.payload) and "13700137001" not in n.target
    copy = next(n for n in rows if n.key.endswith(":phone:1"))
    assert copy.payload["text"].startswith("【12319城市管理热线】抄送：工单") and "已派至" in copy.payload["text"]


def test_the_number_gets_the_sms(recording_queue: RecordingQueue, twilio_env: TwilioStandIn) -> None:
    _dispatched(["13700137001"])
    copy = next(n for n in _rows() if ":notify:phone:" in n.key)
    assert copy.id is not None
    assert notices.send_department_notice(copy.id) == "sent"
    (sent,) = twilio_env.messages()
    assert sent["To"] == COPY_PHONE and "抄送" in sent["Body"] and sent["To"] != DUTY_PHONE
    assert _rows()[-1].target.startswith("rule:")  # still the rule's place, not the number


def test_a_number_gone_from_the_rule_fails_the_notice(recording_queue: RecordingQueue) -> None:
    with session_scope() as s:
        row = DepartmentNotice(key="x:1", department_code="sanitation", channel="sms", target="rule:999:nope:0",
                               event="dispatch", payload={"text": "t"})  # fmt: skip
        s.add(row)
        s.flush()
        notice_id = row.id
    assert notice_id is not None
    assert notices.send_department_notice(notice_id) == "failed"
    assert _rows()[-1].last_error == "规则中的抄送号码已不存在"
