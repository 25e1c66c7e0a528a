"""Hotspots on a seeded city (routing.hotspot_board, routing.hotspot_alerts, /supervisor/hotspots): the surge
is listed with its cases, the flat pair is not; the sweep opens one episode and asks for the supervisors'
SMS once however often it runs; the SMS reaches each supervisor with a phone once; exports read back."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlmodel import select

from cases import jobs
from cases.db import session_scope
from cases.jobnames import JobName
from cases.models import utcnow
from hotline.jobs import wire_jobs
from intake.telephony.models import OutboundMessage
from routing.hotspot_alerts import send_hotspot_sms, sweep_hotspots, sweep_in
from routing.hotspot_board import current_test, hotspots, swept_hotspots
from routing.models import HotspotEpisode
from tests import telephony_fixtures as tf
from tests.console_helpers import login, make_user
from tests.escalation_fixtures import RecordingQueue
from tests.hotspot_fixtures import FLAT_GRID, HOT_CATEGORY, HOT_GRID, SUPERVISOR_PHONE, seed_hotspot_city
from tests.twilio_standin import TwilioStandIn

standin, twilio_env = tf.standin, tf.twilio_env  # fixtures


@pytest.fixture
def queue(env: Path) -> Iterator[RecordingQueue]:
    q = RecordingQueue()
    jobs.set_queue(q)
    yield q
    jobs.set_queue(None)


def test_the_surge_is_a_hotspot_and_the_flat_pair_is_not(queue: RecordingQueue) -> None:
    surge = seed_hotspot_city()
    with session_scope() as s:
        found = hotspots(s, utcnow())
    assert [(h.grid_code, h.category_code) for h in found] == [(HOT_GRID, HOT_CATEGORY)]
    [h] = found
    assert (h.verdict.count, h.verdict.baseline) == (9, 8)
    assert h.verdict.p_value < 1e-6 and h.grid_name == "东门社区第1网格" and h.category_name == "暴露垃圾"
    assert sorted(c.number for c in h.cases) == sorted(surge)


def test_the_dashboard_shows_what_the_last_sweep_found(client: TestClient, queue: RecordingQueue) -> None:
    surge = seed_hotspot_city()
    with session_scope() as s:
        assert swept_hotspots(s, utcnow()) == []  # no sweep yet: the dashboard has nothing to show
        live = hotspots(s, utcnow())
        sweep_in(s, utcnow(), current_test(), sms=False)
    with session_scope() as s:
        [h] = swept_hotspots(s, utcnow())
    assert (h.grid_code, h.category_code) == (HOT_GRID, HOT_CATEGORY)
    assert (h.verdict.count, h.verdict.baseline, h.verdict.expected) == (9, 8, live[0].verdict.expected)
    assert sorted(c.number for c in h.cases) == sorted(surge) and h.episode is not None
    make_user("zhang", "supervisor")
    login(client, "zhang")
    page = client.get("/supervisor/").text
    assert f'data-grid="{HOT_GRID}"' in page and "系统定时检测的结果" in page


def test_the_sweep_opens_one_episode_and_asks_for_the_sms_once(queue: RecordingQueue) -> None:
    seed_hotspot_city()
    now = utcnow()
    assert sweep_hotspots(now, force=True) == 1
    assert sweep_hotspots(now + timedelta(minutes=10), force=True) == 0  # the same episode, seen again
    assert sweep_hotspots(now + timedelta(minutes=20)) == 0  # throttled: not run again within the interval
    [(episode_id,)] = queue.of(JobName.SEND_HOTSPOT_SMS)
    with session_scope() as s:
        [e] = s.exec(select(HotspotEpisode)).all()
        assert (e.id, e.grid_code, e.category_code, e.count, e.ended_at) == (
            episode_id,
            HOT_GRID,
            HOT_CATEGORY,
            9,
            None,
        )
        assert e.last_seen_at == now + timedelta(minutes=10)
    # Four days later nothing is hot any more (the surge is baseline now): the episode ends after a quiet window.
    later = now + timedelta(days=4)
    with session_scope() as s:
        assert sweep_in(s, later, current_test(), sms=True) == []
        e = s.exec(select(HotspotEpisode)).one()
        assert e.ended_at == later


def test_each_supervisor_with_a_phone_is_texted_once(twilio_env: TwilioStandIn, queue: RecordingQueue) -> None:
    wire_jobs()
    make_user("zhang", "supervisor", phone=SUPERVISOR_PHONE)
    make_user("zhao", "supervisor")  # no phone: not texted
    make_user("li", "agent", phone="+8613700137002")  # not a supervisor
    seed_hotspot_city()
    sweep_hotspots(force=True)
    [(episode_id,)] = queue.of(JobName.SEND_HOTSPOT_SMS)
    assert send_hotspot_sms(episode_id) == 1
    assert send_hotspot_sms(episode_id) == 0  # run twice: nothing more
    [sms] = twilio_env.messages()
    assert sms["To"] == SUPERVISOR_PHONE and "东门社区第1网格" in sms["Body"] and "暴露垃圾" in sms["Body"]
    assert "9件" in sms["Body"]
    with session_scope() as s:
        [om] = s.exec(select(OutboundMessage)).all()
        assert om.purpose == "hotspot" and om.dedupe_key.startswith(f"hotspot:{episode_id}:user:")
        e = s.get(HotspotEpisode, episode_id)
        assert e is not None and e.sms_sent == 1 and e.notified_at is not None


def test_the_page_states_the_test_links_the_cases_and_exports(client: TestClient) -> None:
    surge = seed_hotspot_city()
    make_user("zhang", "supervisor")
    login(client, "zhang")
    page = client.get("/supervisor/hotspots")
    assert page.status_code == 200
    assert f'data-grid="{HOT_GRID}"' in page.text and f'data-grid="{FLAT_GRID}"' not in page.text
    for number in surge:
        assert f'href="/console/cases/{number}"' in page.text
    assert "P(X ≥ k) &lt; 0.001" in page.text and "k ≥ 5" in page.text and "(b + 0.5) ÷ 56 × 3" in page.text
    got = client.get("/supervisor/hotspots/export?format=csv")
    assert got.status_code == 200 and got.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(got.content.decode("utf-8-sig"))))
    assert rows[0][:5] == ["网格", "网格编码", "事项类别", "类别编码", "近3天件数"]
    assert rows[1][1] == HOT_GRID and rows[1][4] == "9" and len(rows) == 2
    xlsx = client.get("/supervisor/hotspots/export?format=xlsx&list=episodes")
    book = load_workbook(io.BytesIO(xlsx.content))
    assert book.sheetnames == ["热点记录", "当前热点"]
    assert book["当前热点"]["B2"].value == HOT_GRID
    assert client.get("/supervisor/hotspots/export?format=pdf").status_code == 400
