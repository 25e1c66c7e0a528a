"""A third-party Open311 client from PyPI (civicbot's GeoReport v2 client) against a real uvicorn server.

The server runs as its own process on 127.0.0.1 with the embedded defaults (SQLite file, in-process job
queue), so the case is opened asynchronously: the client gets a token back and follows it, as the spec
intends, before reading the request.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from civicbot.http import HttpTransport, RateLimiter
from civicbot.open311 import Open311Client
from civicbot.registry import Endpoint

from tests.conftest import LiveServer

REPO = Path(__file__).resolve().parents[2]


def _make_key(db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    from cases.db import dispose_engines, session_scope
    from hotline.settings import reset_settings
    from intake.open311.keys import create_key

    monkeypatch.setenv("HOTLINE_DATABASE_URL", db_url)
    reset_settings()
    try:
        with session_scope() as s:
            _, key = create_key(s, "civicbot")
    finally:
        dispose_engines()
        monkeypatch.delenv("HOTLINE_DATABASE_URL")
        reset_settings()
    return key


def test_third_party_client_lists_creates_and_reads_back(
    live_server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    base, db_url = live_server.base, live_server.db_url
    key = _make_key(db_url, monkeypatch)
    endpoint = Endpoint(id="hotline-12319", name="12319", base_url=f"{base}/open311/v2", write=True)
    client = Open311Client(
        endpoint, transport=HttpTransport(rate_limiter=RateLimiter(min_interval=0.0)), jurisdiction_id="12319.local"
    )

    services = client.list_services()
    assert {"service_code": "06010", "service_name": "暴露垃圾"}.items() <= next(
        s for s in services if s["service_code"] == "06010"
    ).items()
    assert client.get_service_definition("06010") == {"service_code": "06010", "attributes": []}

    sent = client.create_request(
        "06010",
        dry_run=False,
        confirm="SEND",
        api_key=key,
        validate_remote=True,
        lat=30.403,
        lng=114.843,
        description="东门菜市场门口暴露垃圾，两天没人清理",
        phone="13800138000",
    )
    answer = sent.response[0]
    token = answer["token"]
    number = answer.get("service_request_id")
    deadline = time.monotonic() + 20
    while not number and time.monotonic() < deadline:  # the in-process queue opens the case shortly
        time.sleep(0.2)
        number = client.get_token(token)[0]["service_request_id"]
    assert number and number.startswith("12319-")

    got = client.get_request(number)
    assert got is not None
    assert got["service_request_id"] == number and got["service_code"] == "06010"
    assert got["status"] == "open" and got["expected_datetime"]
    assert got["description"].startswith("东门菜市场门口暴露垃圾")
    assert number in [r["service_request_id"] for r in client.list_requests(service_code="06010", status="open")]

    # A wrong key is refused in the spec's error format, which the client surfaces as an HTTP error.
    from civicbot.http import HttpError

    with pytest.raises(HttpError) as err:
        client.create_request("06010", dry_run=False, confirm="SEND", api_key="bogus", lat=30.4, lng=114.8)
    assert err.value.status == 403 and '"code": 403' in err.value.body
