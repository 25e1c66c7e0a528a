"""The hostile-input suite (tests/hostile.py) on the real PostgreSQL, where NUL in text and JSON, and ids
beyond INTEGER, fail the query itself (on SQLite they pass or overflow differently)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from cases import jobs
from cases.db import get_engine, session_scope
from hotline.settings import reset_settings
from intake.open311.keys import create_key
from intake.ratelimit import reset_limiter
from tests import hostile
from tests import telephony_fixtures as tf
from tests.hostile import Tally, api_auth_headers

pytestmark = [pytest.mark.integration]


@pytest.fixture
def pg_client(prod_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """The app on PostgreSQL with jobs run synchronously after commit (no worker needed to see a case)."""
    from hotline.app import create_app
    from hotline.queues import SyncQueue

    monkeypatch.delenv("HOTLINE_REDIS_URL")
    for k, v in {
        "HOTLINE_TWILIO_AUTH_TOKEN": tf.TOKEN,
        "HOTLINE_TWILIO_ACCOUNT_SID": tf.ACCOUNT,
        "HOTLINE_PUBLIC_BASE_URL": tf.PUBLIC,
        "HOTLINE_WARM_UP_ON_START": "false",
        "HOTLINE_QUIET_HOURS": "",
        "HOTLINE_TWILIO_RATE_PER_SECOND": "0",
    }.items():
        monkeypatch.setenv(k, v)
    reset_settings()
    with get_engine().begin() as conn:
        conn.execute(
            text(
                "TRUNCATE sms_message, sms_opt_out, call_session, call_step, outbound_message, camera, "
                "camera_incident, camera_alert_signature, api_key, attachment "
                "RESTART IDENTITY CASCADE"
            )
        )
    reset_limiter()
    yield from hostile.hostile_client(create_app(queue=SyncQueue()))
    jobs.set_queue(None)


@pytest.fixture
def tally(request: pytest.FixtureRequest) -> Iterator[Tally]:
    yield from hostile.tallied("PostgreSQL", request.node.name)


def test_api_on_postgresql(pg_client: TestClient, tally: Tally) -> None:
    hostile.check_api(pg_client, tally, api_auth_headers())


def test_open311_on_postgresql(pg_client: TestClient, tally: Tally) -> None:
    with session_scope() as s:
        _, key = create_key(s, "hostile")
    hostile.check_open311(pg_client, tally, key)


def test_web_on_postgresql(pg_client: TestClient, tally: Tally) -> None:
    hostile.check_web(pg_client, tally)


def test_twilio_on_postgresql(pg_client: TestClient, tally: Tally) -> None:
    hostile.check_twilio(pg_client, tally, tf.TOKEN, tf.PUBLIC, tf.ACCOUNT)


def test_camera_on_postgresql(pg_client: TestClient, tally: Tally) -> None:
    hostile.check_camera(pg_client, tally, hostile.hostile_camera())


def test_postgresql_error_detail_holds_no_phone_in_logs(pg_client: TestClient, tmp_path: object) -> None:
    """PostgreSQL puts the duplicate key itself in the error (DETAIL: Key (phone)=(+86…)), which
    hide_parameters cannot hide: the log masking must."""
    import logging
    from pathlib import Path

    from sqlalchemy.exc import IntegrityError

    from intake.telephony.models import SmsOptOut
    from tests.conftest import phone_leaks

    path = Path(str(tmp_path)) / "pg.log"
    handler = logging.FileHandler(path, encoding="utf-8")
    logging.getLogger().addHandler(handler)
    try:
        with session_scope() as s:
            s.add(SmsOptOut(phone=hostile.RESIDENT))
            s.commit()
        with session_scope() as s:
            s.add(SmsOptOut(phone=hostile.RESIDENT))
            try:
                s.commit()
            except IntegrityError as exc:
                assert "already exists" in str(exc)
                logging.getLogger("tests.pg").exception("opt-out insert failed: %s", exc)
    finally:
        handler.flush()
        logging.getLogger().removeHandler(handler)
    text = path.read_text(encoding="utf-8")
    assert "already exists" in text and "136****4444" in text
    assert phone_leaks(text, {hostile.RESIDENT[3:]}) == []
