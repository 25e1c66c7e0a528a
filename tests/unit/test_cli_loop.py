"""The closed loop runs whoever moves the case: the real `hotline` commands, in their own processes on the
embedded default (SQLite, no Redis), send the 派遣 and 反馈 SMS and place the 回访 call, with nothing
wired by the test."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from cases import hooks
from cases.db import session_scope
from cases.models import CaseEvent, Report
from cases.service import apply_action, get_case_by_number, open_case
from hotline.cli import app as cli
from intake.telephony.models import OutboundMessage
from tests import telephony_fixtures as tf
from tests.twilio_standin import TwilioStandIn

standin, twilio_env = tf.standin, tf.twilio_env  # fixtures
REPO = Path(__file__).resolve().parents[2]
GRID = "421102001001001"
runner = CliRunner()


def held_case(text: str = "门口那堆东西好几天了没人管", phone: str = "+8613800138000") -> str:
    """A registered case held for an agent, with the reporter's phone (made through the kernel, so the test
    does not depend on what the model guesses)."""
    with session_scope() as s:
        case = open_case(s, actor="system:pipeline", title=text)
        apply_action(s, case, "register", "system:pipeline")
        case.needs_review = True
        s.add(
            Report(
                channel="sms",
                external_id=f"held-{text}",
                text=text,
                phone=phone,
                case_id=case.id,
                processing_status="done",
            )
        )
        s.commit()
        return case.number


def hotline(*args: str) -> subprocess.CompletedProcess[str]:
    """`hotline ARGS` as an operator runs it: a fresh process, the test's database and Twilio stand-in."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "HOTLINE_LOG_LEVEL": "WARNING"}
    env.pop("HOTLINE_REDIS_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "hotline.cli", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )


def test_cli_commands_send_the_notices_and_place_the_survey_call(twilio_env: TwilioStandIn) -> None:
    assert hooks.listeners("dispatched") == []  # nothing wired in this (test) process
    number = held_case()

    out = hotline("cases", "confirm", number, "--agent", "li", "--category", "06010", "--grid", GRID)
    assert out.returncode == 0, out.stderr
    dispatched = [m for m in twilio_env.messages() if "已派遣" in m["Body"]]
    assert len(dispatched) == 1 and number in dispatched[0]["Body"] and dispatched[0]["To"] == "+8613800138000"

    out = hotline("cases", "act", number, "handle", "--actor", "dept:sanitation")
    assert out.returncode == 0, out.stderr
    assert [m for m in twilio_env.messages() if "已处理完毕" in m["Body"]]

    assert twilio_env.calls() == []
    out = hotline("cases", "act", number, "verify", "--actor", "grid:wang")
    assert out.returncode == 0, out.stderr
    calls = twilio_env.calls()
    assert len(calls) == 1 and calls[0]["To"] == "+8613800138000" and "/twilio/voice/survey/ask" in calls[0]["Url"]

    with session_scope() as s:
        sent = {m.purpose: m.status for m in s.exec(select(OutboundMessage))}
    assert sent == {"dispatch": "sent", "completion": "sent", "survey": "sent"}


def test_in_process_cli_wires_the_hooks_itself(twilio_env: TwilioStandIn) -> None:
    """Same through typer's runner: the command's own start-up wires the loop, not the caller."""
    number = held_case("东门菜市场门口暴露垃圾")
    out = runner.invoke(cli, ["cases", "confirm", number, "--agent", "li", "--category", "06010", "--grid", GRID])
    assert out.exit_code == 0, out.output
    assert any("已派遣" in m["Body"] for m in twilio_env.messages())
    for action in ("accept", "handle"):
        assert runner.invoke(cli, ["cases", "act", number, action, "--actor", "dept:sanitation"]).exit_code == 0
    assert any("已处理完毕" in m["Body"] for m in twilio_env.messages())


def test_a_failing_job_is_retried_and_does_not_fail_the_command(
    twilio_env: TwilioStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The move is committed before its jobs run: a job that keeps failing is logged, the command succeeds."""
    from hotline.wiring import ForegroundQueue

    number = held_case()
    calls: list[int] = []

    def broken(case_id: int) -> None:
        calls.append(case_id)
        raise RuntimeError("boom")

    import intake.telephony.outbound as outbound

    monkeypatch.setattr(outbound, "notify_case_status", broken)
    monkeypatch.setattr("time.sleep", lambda _s: None)
    out = runner.invoke(cli, ["cases", "confirm", number, "--agent", "li", "--category", "06010", "--grid", GRID])
    assert out.exit_code == 0, out.output
    from cases import jobs

    q = jobs.get_queue()
    assert isinstance(q, ForegroundQueue) and len(calls) == q.attempts and q.failed
    with session_scope() as s:
        case = get_case_by_number(s, number)
        assert case is not None and case.status == "dispatched"
        assert s.exec(select(CaseEvent).where(CaseEvent.action == "dispatch")).one().actor == "agent:li"
