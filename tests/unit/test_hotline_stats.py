"""The hotline's figures (intake.telephony.hotline_stats, /supervisor/hotline): the pure arithmetic on
synthetic calls (answered within 15 s, connected, abandoned, to voicemail, waiting now), the queue times a
real IVR call writes (entered the queue, left it by hanging up), and the page with its targets, definitions
and export."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlmodel import select

from cases.db import session_scope
from cases.models import utcnow
from intake.telephony.hotline_stats import (
    QueuedCall,
    by_hour,
    hotline_figures,
    local_midnight,
    summarise,
    waiting_now,
)
from intake.telephony.models import CallSession
from tests import telephony_fixtures as tf
from tests.console_helpers import login, make_user
from tests.twilio_standin import TwilioStandIn

standin, twilio_env = tf.standin, tf.twilio_env  # fixtures
NOW = datetime(2026, 12, 10, 6, 0, tzinfo=UTC)  # 14:00 in Shanghai


def _call(queued_ago: float, wait: float | None = None, result: str | None = None, ended: bool = True) -> QueuedCall:
    queued = NOW - timedelta(seconds=queued_ago)
    return QueuedCall(
        queued,
        queued + timedelta(seconds=wait) if wait is not None else None,
        result,
        NOW if ended else None,
    )


def test_the_rates_divide_by_the_calls_that_reached_the_queue() -> None:
    calls = [
        _call(600, wait=5, result="bridged"),
        _call(600, wait=15, result="bridged"),  # exactly 15 s counts as within
        _call(600, wait=16, result="bridged"),
        _call(600, wait=70),  # answered; the action's result not (yet) posted
        _call(600, result="hangup"),  # abandoned
        _call(600),  # ended without a queue result: abandoned
        _call(600, result="leave"),  # waited too long: voicemail
        _call(600, result="queue-full"),
        _call(30, ended=False),  # still waiting: left out
    ]
    f = summarise(calls, NOW)
    assert (f.offered, f.answered, f.answered_in_target) == (8, 4, 2)
    assert (f.abandoned, f.to_voicemail, f.other_unanswered) == (2, 1, 1)
    assert f.answered_rate == 0.5 and f.in_target_rate == 0.25 and f.abandoned_rate == 0.25
    assert f.average_wait_seconds == (5 + 15 + 16 + 70) / 4 and f.longest_answered_wait_seconds == 70
    assert f.meets_connected_target is False
    assert summarise([_call(60, wait=3)] * 19 + [_call(60, result="hangup")], NOW).meets_connected_target is True


def test_no_calls_give_no_rates_rather_than_zero() -> None:
    f = summarise([], NOW)
    assert f.offered == 0 and f.answered_rate is None and f.in_target_rate is None and f.meets_connected_target is None


def test_waiting_now_ignores_calls_whose_callbacks_were_lost() -> None:
    w = waiting_now([_call(40, ended=False), _call(95, ended=False), _call(7200, ended=False), _call(10)], NOW)
    assert w.callers == 2 and w.longest_wait_seconds == 95


def test_calls_by_local_hour() -> None:
    tz = ZoneInfo("Asia/Shanghai")
    hours = by_hour([NOW, NOW - timedelta(minutes=30), NOW - timedelta(hours=5)], tz)
    assert hours[14] == 1 and hours[13] == 1 and hours[9] == 1 and sum(hours) == 3
    assert local_midnight(NOW, tz).isoformat() == "2026-12-10T00:00:00+08:00"


def test_an_ivr_call_records_when_it_entered_and_left_the_agents_queue(
    client: TestClient, twilio_env: TwilioStandIn
) -> None:
    sim = tf.simulator(client)
    sim.run(tf.scripted("3", "hangup"))  # 人工服务, then hang up while holding
    with session_scope() as s:
        cs = s.exec(select(CallSession).where(CallSession.call_sid == sim.call_sid)).one()
        assert cs.queued_at is not None and cs.answered_at is None
        assert (cs.queue_result, cs.queue_seconds) == ("hangup", 30)
        fig = hotline_figures(s, utcnow() + timedelta(seconds=1))
    assert fig.today.offered == 1 and fig.today.abandoned == 1 and fig.calls_today == 1


def _seed_calls() -> None:
    now = utcnow()
    with session_scope() as s:
        for i, (wait, result) in enumerate([(4, "bridged"), (12, "bridged"), (40, "bridged"), (None, "hangup")]):
            queued = now - timedelta(minutes=5 + i)
            s.add(
                CallSession(
                    call_sid=f"CA{i:032d}",
                    started_at=queued - timedelta(seconds=20),
                    queued_at=queued,
                    answered_at=queued + timedelta(seconds=wait) if wait is not None else None,
                    queue_result=result,
                    ended_at=now,
                )
            )
        s.add(
            CallSession(
                call_sid="CA" + "9" * 32, started_at=now - timedelta(seconds=50), queued_at=now - timedelta(seconds=42)
            )
        )


def test_the_page_shows_the_figures_beside_the_targets_and_exports(client: TestClient) -> None:
    _seed_calls()
    make_user("zhang", "supervisor")
    login(client, "zhang")
    page = client.get("/supervisor/hotline")
    assert page.status_code == 200
    text = page.text
    assert '正在等待人工</div><div class="value">1 人' in text and "最长已等 4" in text  # 42 s
    assert "50.0%" in text and "2 / 4" in text  # within 15 s: 2 of 4
    assert "75.0%" in text and "3 / 4" in text and "标准：≥ 95%" in text and "15 秒内应答" in text
    assert "GB/T 33358-2016" in text and "指标定义与标准" in text and "排队时挂机" in text
    assert 'aria-label="今日每小时来电柱状图"' in text
    rows = list(
        csv.reader(io.StringIO(client.get("/supervisor/hotline/export?format=csv").content.decode("utf-8-sig")))
    )
    assert rows[0][:4] == ["时段", "进入人工队列", "人工接通", "接通率%"]
    assert rows[1][:4] == ["今日", "4", "3", "75.0"]
    book = load_workbook(io.BytesIO(client.get("/supervisor/hotline/export?format=xlsx").content))
    assert book.sheetnames == ["人工队列", "今日每小时来电"]
    assert sum(book["今日每小时来电"].cell(row=r, column=2).value for r in range(2, 26)) == 5
