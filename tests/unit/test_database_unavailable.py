"""While the database is unreachable (PostgreSQL restarting) every route answers a problem+json 503 with
Retry-After, never a plain-text 500; nothing is stored, so a retry is safe (issue 12, defect 4)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from hotline.settings import reset_settings
from tests.conftest import free_port, reset_caches


@pytest.fixture
def no_database(env: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    # A PostgreSQL URL where nothing listens: every connection attempt is refused, as during a restart.
    monkeypatch.setenv("HOTLINE_DATABASE_URL", f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/hotline")
    reset_caches()
    reset_settings()
    from hotline.app import create_app
    from hotline.queues import SyncQueue

    with TestClient(create_app(queue=SyncQueue()), raise_server_exceptions=False) as c:
        yield c


def _assert_retry_later(r) -> None:  # type: ignore[no-untyped-def]
    assert r.status_code == 503, (r.request.method, r.request.url.path, r.status_code, r.text[:200])
    assert r.headers["content-type"].startswith("application/problem+json")
    assert int(r.headers["retry-after"]) > 0
    body = r.json()
    assert body["status"] == 503 and body["title"]


def test_report_intake_answers_503_with_retry_after(no_database: TestClient) -> None:
    # Checking the key needs the database too: the answer is "retry later", never "bad key".
    key = {"Authorization": "Bearer hk_any-key-while-the-database-is-down"}
    r = no_database.post(
        "/api/v1/reports", json={"external_id": "pg-down-1", "text": "东门菜市场暴露垃圾"}, headers=key
    )
    _assert_retry_later(r)
    _assert_retry_later(no_database.get("/api/v1/reports/1", headers=key))
    ready = no_database.get("/readyz")
    assert ready.status_code == 503 and "database" in ready.json()["detail"]


def _api_routes(routes: list[Any]) -> Iterator[APIRoute]:
    for r in routes:
        if isinstance(r, APIRoute):
            yield r
        elif (inner := getattr(r, "original_router", None) or r) is not None and hasattr(inner, "routes"):
            yield from _api_routes(inner.routes)


def test_no_route_answers_500_while_the_database_is_down(no_database: TestClient) -> None:
    seen = 0
    for route in _api_routes(no_database.app.routes):  # type: ignore[attr-defined]
        path = route.path
        for name in route.param_convertors:
            path = path.replace("{" + name + "}", "json" if name == "fmt" else "1")
        for method in route.methods - {"HEAD"}:
            r = no_database.request(
                method, path, params={"q": "垃圾"}, **({} if method == "GET" else {"data": {"Body": "x"}})
            )
            seen += 1
            assert r.status_code != 500, (method, path, r.text[:200])
            if r.status_code >= 500:
                _assert_retry_later(r)
    assert seen > 20
