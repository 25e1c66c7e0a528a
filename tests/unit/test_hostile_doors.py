"""Hostile input at every door on the embedded default (SQLite): see tests/hostile.py for the checks.

Each door's check is its own test; every one also asserts that no answer was a 5xx."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from cases.db import session_scope
from hotline.queues import SyncQueue
from intake.open311.keys import create_key
from intake.ratelimit import reset_limiter
from tests import hostile
from tests import telephony_fixtures as tf
from tests.hostile import Tally, api_auth_headers
from tests.twilio_standin import TwilioStandIn

standin, twilio_env = tf.standin, tf.twilio_env  # fixtures


@pytest.fixture
def hc(sync_queue: SyncQueue) -> Iterator[TestClient]:
    from hotline.app import create_app

    reset_limiter()
    yield from hostile.hostile_client(create_app(queue=sync_queue))
    reset_limiter()


@pytest.fixture
def tally(request: pytest.FixtureRequest) -> Iterator[Tally]:
    yield from hostile.tallied("SQLite", request.node.name)


def test_api(hc: TestClient, tally: Tally) -> None:
    hostile.check_api(hc, tally, api_auth_headers())


def test_open311(hc: TestClient, tally: Tally) -> None:
    with session_scope() as s:
        _, key = create_key(s, "hostile")
    hostile.check_open311(hc, tally, key)


def test_web(hc: TestClient, tally: Tally) -> None:
    hostile.check_web(hc, tally)


def test_twilio(hc: TestClient, tally: Tally, twilio_env: TwilioStandIn) -> None:
    hostile.check_twilio(hc, tally, tf.TOKEN, tf.PUBLIC, tf.ACCOUNT)


def test_camera(hc: TestClient, tally: Tally) -> None:
    hostile.check_camera(hc, tally, hostile.hostile_camera())


def test_speech_with_control_characters_is_stored_clean(client: TestClient, twilio_env: TwilioStandIn) -> None:
    """Speech reaches the report and the read-back TwiML; both must hold what XML and the database can."""
    from sqlmodel import select

    from cases.models import Report

    said = tf.simulator(client).run(tf.scripted("1", f"东门菜市场附近有{hostile.CONTROLS}暴露垃圾", "1"))
    assert said  # every TwiML answer parsed (the simulator parses each one)
    with session_scope() as s:
        [report] = s.exec(select(Report).where(Report.channel == "voice")).all()
        assert report.text == "东门菜市场附近有暴露垃圾"


def test_unexpected_error_is_a_bare_problem_and_logged(
    hc: TestClient, tally: Tally, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import intake.api

    def broken(*_: object) -> None:
        raise RuntimeError("SELECT phone FROM report WHERE phone = '+8613655554444'")

    monkeypatch.setattr(intake.api, "get_case_by_number", broken)
    r = hc.get("/api/v1/cases/12319-20261202-000001", headers=api_auth_headers())
    assert r.status_code == 500 and hostile.is_problem(r, 500)
    assert "SELECT" not in r.text and "RuntimeError" not in r.text and "13655554444" not in r.text
    assert any("unhandled RuntimeError" in rec.getMessage() for rec in caplog.records)
    # Starlette's own refusals are problem bodies too, in Chinese.
    assert hostile.is_problem(tally.saw(hc.get("/api/v1/nothing-here"), "unknown route"), 404)
    assert hostile.is_problem(tally.saw(hc.delete("/api/v1/reports"), "wrong method"), 405)
    assert hostile.is_chinese_html(tally.saw(hc.get("/h5/nothing-here"), "unknown page"), 404)


def test_track_link_tokens_never_reach_a_log_line() -> None:
    """The texted link is the reporter's proof: an access log line shows the path without it."""
    import logging

    from hotline.bootstrap import mask_record

    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/h5/t/Zx9_abcDEF0123456789-Qw", "1.1", 200),
        None,
    )
    mask_record(record)
    assert "Zx9_abcDEF" not in record.getMessage() and "/h5/t/****" in record.getMessage()
