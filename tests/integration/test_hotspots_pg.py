"""Hotspots on the real PostgreSQL: two sweeps (threads with connections of their own, started together at a
barrier), again and again, open one episode of the surge and ask for the supervisors' SMS once; the SMS job
run twice at once texts each supervisor once."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlmodel import select

from cases import jobs
from cases.db import session_scope
from cases.jobnames import JobName
from cases.models import utcnow
from hotline.jobs import wire_jobs
from hotline.settings import reset_settings
from intake.telephony.models import OutboundMessage
from routing.hotspot_alerts import send_hotspot_sms, sweep_hotspots
from routing.models import HotspotEpisode
from tests import telephony_fixtures as tf
from tests.console_helpers import make_user
from tests.escalation_fixtures import RecordingQueue
from tests.hotspot_fixtures import HOT_CATEGORY, HOT_GRID, SUPERVISOR_PHONE, seed_hotspot_city
from tests.twilio_standin import TwilioStandIn

pytestmark = pytest.mark.integration
standin = tf.standin  # fixture
REPEATS = 5


def _together(work: object, n: int = 2) -> list[BaseException]:
    barrier = threading.Barrier(n)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait(timeout=60)
            work()  # type: ignore[operator]
        except BaseException as exc:  # reported by the caller
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return errors


def test_two_sweeps_at_once_open_one_episode_and_text_each_supervisor_once(
    prod_env: dict[str, str], standin: TwilioStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in {
        "HOTLINE_TWILIO_ACCOUNT_SID": tf.ACCOUNT,
        "HOTLINE_TWILIO_AUTH_TOKEN": tf.TOKEN,
        "HOTLINE_TWILIO_FROM_NUMBER": tf.HOTLINE,
        "HOTLINE_TWILIO_API_BASE_URL": standin.url,
        "HOTLINE_PUBLIC_BASE_URL": tf.PUBLIC,
        "HOTLINE_TWILIO_RATE_PER_SECOND": "0",
    }.items():
        monkeypatch.setenv(name, value)
    reset_settings()
    queue = RecordingQueue()
    jobs.set_queue(queue)
    wire_jobs()
    make_user("zhang_pg", "supervisor", phone=SUPERVISOR_PHONE)
    now = utcnow()
    seed_hotspot_city(now)
    opened: list[int] = []
    for i in range(REPEATS):
        moment = now + timedelta(minutes=i)
        errors = _together(lambda m=moment: opened.append(sweep_hotspots(m, force=True)))
        assert not errors, errors
    assert sum(opened) == 1
    with session_scope() as s:
        [episode] = s.exec(select(HotspotEpisode)).all()
        assert (episode.grid_code, episode.category_code, episode.ended_at) == (HOT_GRID, HOT_CATEGORY, None)
    assert queue.of(JobName.SEND_HOTSPOT_SMS) == [(episode.id,)]

    assert episode.id is not None
    errors = _together(lambda: send_hotspot_sms(episode.id))  # the job delivered twice, run at once
    assert all("will retry" in str(e) for e in errors), errors  # the loser of the race retries later …
    send_hotspot_sms(episode.id)  # … and finds the text sent
    assert [m["To"] for m in standin.messages()] == [SUPERVISOR_PHONE]
    with session_scope() as s:
        [om] = s.exec(select(OutboundMessage).where(OutboundMessage.purpose == "hotspot")).all()
        assert om.status == "sent"
        row = s.get(HotspotEpisode, episode.id)
        assert row is not None and row.notified_at is not None and row.sms_sent == 1
    jobs.set_queue(None)
