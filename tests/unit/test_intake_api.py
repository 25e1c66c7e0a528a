"""The intake API on SQLite with synchronous jobs: report → dispatched case, idempotency, errors."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from cases.db import session_scope
from cases.models import Case, CaseEvent, Report

GARBAGE = {"channel": "api", "external_id": "t-1", "text": "东门菜市场门口暴露垃圾没人清理", "phone": "138 0013 8000"}


@pytest.fixture
def client(client: TestClient, api_headers: dict[str, str]) -> TestClient:
    """The app client, authenticated to /api/v1 with an intake+read+routing key."""
    client.headers.update(api_headers)
    return client


def test_report_becomes_dispatched_case(client: TestClient) -> None:
    r = client.post("/api/v1/reports", json=GARBAGE)
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["duplicate"] is False
    rep = client.get(body["status_url"]).json()
    assert rep["processing_status"] == "done"
    assert rep["phone"] == "138****8000"
    case = client.get(f"/api/v1/cases/{rep['case_number']}").json()
    assert case["status"] == "dispatched"
    assert case["category"]["code"] == "06010"
    assert case["grid"]["code"] == "421102001001001"
    assert case["department"]["code"] == "sanitation"
    assert case["handle_deadline"] is not None
    actions = [e["action"] for e in case["timeline"]]
    assert actions == ["open", "classify", "register", "dispatch"]
    assert case["number"].startswith("12319-") and len(case["number"]) == len("12319-20261125-000001")


def test_duplicate_post_returns_first_report_and_one_case(client: TestClient) -> None:
    first = client.post("/api/v1/reports", json=GARBAGE).json()
    again = client.post("/api/v1/reports", json=GARBAGE)
    assert again.status_code == 200
    assert again.json()["report_id"] == first["report_id"]
    assert again.json()["duplicate"] is True
    with session_scope() as s:
        assert len(s.exec(select(Report)).all()) == 1
        assert len(s.exec(select(Case)).all()) == 1


def test_phone_is_stored_in_e164(client: TestClient) -> None:
    client.post("/api/v1/reports", json=GARBAGE)
    with session_scope() as s:
        assert s.exec(select(Report)).one().phone == "+8613800138000"


def test_bad_input_is_a_problem_document(client: TestClient) -> None:
    r = client.post("/api/v1/reports", json={"channel": "fax", "text": "x"})
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["title"] == "请求参数无效"
    r = client.post("/api/v1/reports", json={"text": "井盖丢了", "phone": "12"})
    assert r.status_code == 422 and r.json()["title"] == "电话号码格式不正确"
    with session_scope() as s:
        assert s.exec(select(Report)).all() == []


def test_unknown_case_and_report_are_404_problems(client: TestClient) -> None:
    assert client.get("/api/v1/cases/12319-20990101-000001").status_code == 404
    r = client.get("/api/v1/reports/999")
    assert r.status_code == 404 and r.json()["title"] == "未找到该上报"


def test_unclassifiable_report_waits_for_an_agent(client: TestClient) -> None:
    r = client.post("/api/v1/reports", json={"external_id": "t-2", "text": "你好"}).json()
    number = client.get(r["status_url"]).json()["case_number"]
    case = client.get(f"/api/v1/cases/{number}").json()
    assert case["status"] == "registered"
    assert case["needs_review"] is True
    assert case["timeline"][-1]["action"] == "hold_for_agent"


def test_health_and_readiness(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"]["database"] == "ok"


def test_events_are_written_with_each_transition(client: TestClient) -> None:
    client.post("/api/v1/reports", json=GARBAGE)
    with session_scope() as s:
        events = s.exec(select(CaseEvent).order_by(CaseEvent.id)).all()  # type: ignore[arg-type]
        dispatch = next(e for e in events if e.action == "dispatch")
        assert (dispatch.from_status, dispatch.to_status) == ("registered", "dispatched")
        assert dispatch.data["department_code"] == "sanitation"
