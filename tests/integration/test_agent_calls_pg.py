"""The ring job on PostgreSQL: several runs of RING_AGENT for one AgentCall at the same moment (a retried
job, two workers) place one call to the agent's phone."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from cases import jobs
from cases.db import session_scope
from hotline.settings import reset_settings
from intake.telephony import agent_calls
from tests.telephony_fixtures import ACCOUNT, HOTLINE, PUBLIC, TOKEN
from tests.twilio_standin import TwilioStandIn

pytestmark = [pytest.mark.integration]


@pytest.fixture
def twilio_pg(prod_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[TwilioStandIn]:
    standin = TwilioStandIn().start()
    for key, value in {
        "HOTLINE_TWILIO_AUTH_TOKEN": TOKEN,
        "HOTLINE_TWILIO_ACCOUNT_SID": ACCOUNT,
        "HOTLINE_TWILIO_FROM_NUMBER": HOTLINE,
        "HOTLINE_TWILIO_API_BASE_URL": standin.url,
        "HOTLINE_PUBLIC_BASE_URL": PUBLIC,
        "HOTLINE_TWILIO_RATE_PER_SECOND": "0",
    }.items():
        monkeypatch.setenv(key, value)
    reset_settings()
    jobs.set_queue(None)  # the ring job is left to the test (an enqueue without a queue is only logged)
    yield standin
    standin.stop()


def test_concurrent_ring_jobs_place_one_call(twilio_pg: TwilioStandIn) -> None:
    with session_scope() as s:
        row = agent_calls.ring_agent_for_next_caller(s, agent_user_id=1, agent_phone="13500001111")
        ac_id = row.id
    assert ac_id is not None and twilio_pg.calls() == []
    start = threading.Barrier(4)
    errors: list[BaseException] = []

    def run() -> None:
        start.wait()
        try:
            agent_calls.ring_agent(ac_id)
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert len(twilio_pg.calls()) == 1
    with session_scope() as s:
        stored = agent_calls.agent_call(s, ac_id)
        assert stored is not None and stored.status == "ringing" and stored.agent_call_sid
