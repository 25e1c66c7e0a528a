"""Deadlines: said to the minute in city time ("14点30分前"), and counted afresh at every re-dispatch (by the
clock the dispatch starts: the mover brings none)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from cases.db import session_scope
from cases.lifecycle import Action
from cases.models import CaseEvent, Report
from cases.reference import InvalidInput
from cases.service import apply_action, get_case_by_number, open_case
from cases.texts import finish_by_zh
from cases.timetext import when_zh
from hotline.cli import app as cli
from tests import telephony_fixtures as tf
from tests.twilio_standin import TwilioStandIn

standin, twilio_env = tf.standin, tf.twilio_env  # fixtures
SH = ZoneInfo("Asia/Shanghai")
runner = CliRunner()


@pytest.mark.parametrize(
    ("at", "said"),
    [
        (datetime(2026, 12, 3, 14, 0, tzinfo=SH), "12月3日14点"),
        (datetime(2026, 12, 3, 14, 30, tzinfo=SH), "12月3日14点30分"),
        (datetime(2026, 12, 3, 14, 5, 59, tzinfo=SH), "12月3日14点5分"),  # never later than the deadline
        (datetime(2026, 12, 3, 0, 0, tzinfo=SH), "12月3日0点"),
        # UTC in, city time out: 16:30 UTC on the last day of November is 00:30 on 1 December in Shanghai.
        (datetime(2026, 11, 30, 16, 30, tzinfo=UTC), "12月1日0点30分"),
        (datetime(2026, 12, 3, 6, 30, tzinfo=UTC), "12月3日14点30分"),
    ],
)
def test_when_zh(at: datetime, said: str) -> None:
    assert when_zh(at, "Asia/Shanghai") == said


def test_when_zh_says_the_year_only_across_new_year() -> None:
    now = datetime(2026, 12, 31, 9, 0, tzinfo=SH)
    assert when_zh(datetime(2026, 12, 31, 16, 0, tzinfo=UTC), SH, now) == "2027年1月1日0点"
    assert when_zh(datetime(2026, 12, 31, 15, 0, tzinfo=UTC), SH, now) == "12月31日23点"
    assert finish_by_zh(datetime(2026, 12, 3, 14, 30, tzinfo=SH), SH, now) == "预计12月3日14点30分前办结"
    with pytest.raises(ValueError, match="aware"):
        when_zh(datetime(2026, 12, 3, 14, 30), SH)


def _case_due(due: datetime, phone: str = "+8613800138000") -> tuple[int, str]:
    with session_scope() as s:
        case = open_case(
            s,
            actor="system:pipeline",
            title="东门菜市场门口暴露垃圾",
            category_code="06010",
            grid_code="421102001001001",
        )
        apply_action(s, case, Action.REGISTER, "system:pipeline")
        apply_action(s, case, Action.DISPATCH, "system:pipeline", department_code="sanitation")
        # The clock set the deadlines from the policy; these tests pin the mirror to a minute of their choice.
        case.dispatch_deadline, case.handle_deadline = due - timedelta(hours=2), due
        s.add(
            Report(channel="sms", external_id="due", text="x", phone=phone, case_id=case.id, processing_status="done")
        )
        s.commit()
        assert case.id is not None
        return case.id, case.number


def test_every_deadline_sentence_says_the_minutes(twilio_env: TwilioStandIn, sync_queue: object) -> None:
    """SMS query reply, the 派遣 notice and the phone line's case lookup all say 14点30分, not 14点."""
    from intake.telephony import outbound
    from intake.telephony.handlers import lookup_case
    from intake.telephony.sms import _query_reply
    from ivr_flows.engine import Turn

    due = datetime.now(SH).replace(hour=14, minute=30, second=0, microsecond=0) + timedelta(days=1)
    case_id, number = _case_due(due)
    expected = f"{due.month}月{due.day}日14点30分前办结"
    with session_scope() as s:
        assert expected in _query_reply(s, number, "+8613800138000")
    outbound.notify_case_status(case_id)
    assert any(expected in m["Body"] for m in twilio_env.messages())
    ctx: dict[str, object] = {"call": {"from": "+8613800138000"}}
    assert lookup_case(ctx, Turn(digits=number.replace("-", "")[5:])) == "found"
    assert expected in ctx["vars"]["deadline_text"]  # type: ignore[index]


def test_redispatch_after_reopen_counts_fresh_deadlines(env: object) -> None:
    """重开 sends the case back to its department (the job after the reopen's commit), one grade up, with
    deadlines counted by its new 签收 clock from that moment, never kept from the round before."""
    from routing.clocks import planned_deadlines, running_clock

    long_ago = datetime(2026, 3, 2, 9, 0, tzinfo=SH)  # a Monday: both deadlines long passed
    _, number = _case_due(long_ago)
    for action in ("handle", "verify"):
        out = runner.invoke(cli, ["cases", "act", number, action, "--actor", "agent:li"])
        assert out.exit_code == 0, out.output
    before = datetime.now(UTC)
    out = runner.invoke(cli, ["cases", "act", number, "reopen", "--actor", "agent:li", "--reason", "居民不满意"])
    assert out.exit_code == 0, out.output
    after = datetime.now(UTC)
    with session_scope() as s:
        case = get_case_by_number(s, number)
        assert case is not None and case.status == "dispatched" and case.department_code == "sanitation"
        assert (case.grade, case.reopen_count) == ("urgent", 1)
        assert case.dispatch_deadline is not None and case.handle_deadline is not None
        assert case.dispatch_deadline > before and case.handle_deadline > case.dispatch_deadline
        # exactly what the policy gives the next grade when counted from the moment of re-dispatch
        lo, hi = planned_deadlines("06010", "urgent", before), planned_deadlines("06010", "urgent", after)
        assert lo.handle_due <= case.handle_deadline <= hi.handle_due
        assert lo.sign_due <= case.dispatch_deadline <= hi.sign_due
        clock = running_clock(s, case.id)
        assert clock is not None and (clock.kind, clock.due_at) == ("sign", case.dispatch_deadline)
        ev = s.exec(select(CaseEvent).where(CaseEvent.action == "dispatch").order_by(CaseEvent.id.desc())).first()  # type: ignore[union-attr]
        assert ev is not None and ev.actor == "system:reopen" and ev.data["handle_deadline"] > before.isoformat()


def test_a_dispatch_brings_no_deadlines_its_clock_counts_them(env: object) -> None:
    """The kernel keeps no stale deadline and asks the mover for none: any dispatch, whoever makes it,
    starts a 签收 clock whose deadlines replace the last round's."""
    from routing.clocks import clocks_of

    _, number = _case_due(datetime(2026, 3, 2, 9, 0, tzinfo=SH))
    with session_scope() as s:
        case = get_case_by_number(s, number)
        assert case is not None
        for action in (Action.HANDLE, Action.VERIFY, Action.REOPEN):
            apply_action(s, case, action, "agent:li")
        assert (case.status, case.dispatch_deadline, case.handle_deadline) == ("reopened", None, None)
        started = datetime.now(UTC)
        apply_action(s, case, Action.DISPATCH, "agent:li")
        assert case.dispatch_deadline is not None and case.dispatch_deadline > started
        assert case.handle_deadline is not None and case.handle_deadline > case.dispatch_deadline
        kinds = [(c.kind, c.outcome) for c in clocks_of(s, case.id)]
        assert kinds == [("sign", "met"), ("verify", "met"), ("sign", None)]
        with pytest.raises(InvalidInput, match="needs a department"):
            orphan = open_case(s, actor="system:pipeline", title="x", category_code="06010")
            apply_action(s, orphan, Action.REGISTER, "system:pipeline")
            apply_action(s, orphan, Action.DISPATCH, "agent:li")


def test_phone_and_sms_lookups_tell_a_case_only_to_its_reporter(twilio_env: TwilioStandIn, sync_queue: object) -> None:
    """Case numbers are sequential: a caller or texter who did not report the case learns nothing of it."""
    from intake.telephony.handlers import lookup_case
    from intake.telephony.sms import _query_reply
    from ivr_flows.engine import Turn

    due = datetime.now(SH).replace(hour=14, minute=30, second=0, microsecond=0) + timedelta(days=1)
    _, number = _case_due(due, phone="+8613800138000")
    keys = Turn(digits=number.replace("-", "")[5:])
    for caller in ("+8613900139000", None):
        ctx: dict[str, object] = {"call": {"from": caller}}
        assert lookup_case(ctx, keys) == "retry" and "vars" not in ctx
        with session_scope() as s:
            assert "没有找到" in _query_reply(s, number, caller)
    assert lookup_case({"call": {"from": "+8613800138000"}}, keys) == "found"
