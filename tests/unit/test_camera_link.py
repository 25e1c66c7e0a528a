"""Linking a camera alert and a resident's report of the same matter (cases.linking, in the pipeline)."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from cases.db import session_scope
from cases.lifecycle import Action
from cases.linking import find_case_to_link
from cases.models import Case, Report, utcnow
from cases.service import apply_action, open_case
from intake.camera.models import Camera
from intake.camera.registry import add_camera
from intake.camera.signing import signed_headers
from intake.open311.keys import create_key
from intake.ratelimit import reset_limiter

GRID = "421102001001001"


@pytest.fixture
def client(client: TestClient, api_headers: dict[str, str]) -> TestClient:
    """The app client, authenticated to /api/v1 with an intake+read+routing key."""
    client.headers.update(api_headers)
    return client


def _case(s: Session, channel: str, category: str = "06010", grid: str = GRID, minutes_ago: int = 0) -> Case:
    case = open_case(s, actor="test", category_code=category, grid_code=grid)
    case.created_at = utcnow() - timedelta(minutes=minutes_ago)
    s.add(Report(channel=channel, external_id=f"{channel}-{case.id}", case_id=case.id))
    s.commit()
    return case


def _find(s: Session, channel: str, category: str = "06010", grid: str = GRID) -> Case | None:
    return find_case_to_link(
        s, channel=channel, category_code=category, grid_code=grid, at=utcnow(), window_seconds=1800
    )


def _post_garbage_alert(client: TestClient, cam: Camera) -> httpx.Response:
    body = b'{"event_type": "garbage_exposed", "confidence": 0.9}'
    headers = {**signed_headers(cam.id, cam.secret, body), "Content-Type": "application/json"}
    return client.post("/api/v1/camera-alerts", content=body, headers=headers)


def test_resident_report_joins_recent_camera_case(env: Path) -> None:
    with session_scope() as s:
        cam = _case(s, "camera", minutes_ago=10)
        found = _find(s, "web")
        assert found is not None and found.id == cam.id
        assert _find(s, "web", category="09009") is None  # other category
        assert _find(s, "web", grid="421102001001002") is None  # other grid
        assert _find(s, "camera") is None  # camera with camera: merging is by incident, not here


def test_camera_joins_resident_case_but_not_old_or_closed_ones(env: Path) -> None:
    with session_scope() as s:
        old = _case(s, "web", minutes_ago=45)
        assert _find(s, "camera") is None  # outside the 30-minute window
        recent = _case(s, "voice", minutes_ago=5)
        found = _find(s, "camera")
        assert found is not None and found.id == recent.id
        apply_action(s, recent, Action.REJECT, "test")
        s.commit()
        assert _find(s, "camera") is None  # a terminal case takes nothing new
        assert old.id is not None


def test_two_residents_are_not_linked_automatically(env: Path) -> None:
    with session_scope() as s:
        _case(s, "web", minutes_ago=1)
        assert _find(s, "sms") is None
        assert (
            find_case_to_link(s, channel="web", category_code=None, grid_code=GRID, at=utcnow(), window_seconds=1800)
            is None
        )


def test_camera_alert_joins_the_residents_case_end_to_end(client: TestClient) -> None:
    r = client.post(
        "/api/v1/reports",
        json={"text": "东门菜市场门口暴露垃圾", "hints": {"category_code": "06010"}},
    )
    assert r.status_code == 202
    with session_scope() as s:
        resident_case = s.exec(select(Case)).one()
        assert resident_case.grid_code == GRID
        cam = add_camera(s, "CAM-L", grid_code=GRID, event_map={"garbage_exposed": "06010"}, auto_dispatch=True)
    r = _post_garbage_alert(client, cam)
    assert r.status_code == 202, r.text
    with session_scope() as s:
        report = s.get(Report, r.json()["report_id"])
        assert report is not None and report.case_id == resident_case.id
        assert len(s.exec(select(Case)).all()) == 1


def test_resident_report_joins_the_cameras_case_end_to_end(client: TestClient) -> None:
    """The other direction: the resident's grid is known only after classification (run at intake)."""
    reset_limiter()
    with session_scope() as s:
        cam = add_camera(
            s,
            "CAM-R",
            grid_code=GRID,
            lat=30.403,
            lon=114.843,
            event_map={"garbage_exposed": "06010"},
            auto_dispatch=True,
        )
    r = _post_garbage_alert(client, cam)
    assert r.status_code == 202, r.text
    # Through the web form: the resident picks 暴露垃圾 and types an address in the camera's grid.
    page = client.get("/h5/")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    r = client.post(
        "/h5/report",
        data={
            "csrf_token": token.group(1),
            "description": "这里好多垃圾没人管",
            "category_code": "06010",
            "address": "东门菜市场北门",
            "phone": "13800138000",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    # And through Open311, by coordinates.
    with session_scope() as s:
        _, key = create_key(s, "t")
    r = client.post(
        "/open311/v2/requests.json",
        data={"api_key": key, "service_code": "06010", "lat": "30.4031", "long": "114.8431", "description": "垃圾"},
    )
    assert r.status_code == 201, r.text
    with session_scope() as s:
        cases = s.exec(select(Case)).all()
        assert len(cases) == 1
        reports = s.exec(select(Report)).all()
        assert {r.channel for r in reports} == {"camera", "web", "open311"}
        assert all(r.case_id == cases[0].id for r in reports)
    # The resident follows the shared case with their own phone.
    track = client.post(
        "/h5/track", data={"csrf_token": token.group(1), "number": cases[0].number, "phone": "13800138000"}
    )
    assert track.status_code == 200 and "收到同一问题的其他反映" in track.text


def test_category_chosen_by_the_channel_is_not_missing(client: TestClient) -> None:
    from cases.models import CaseEvent

    r = client.post(
        "/api/v1/reports",
        json={
            "text": "啊啊啊",
            "location": {"lat": 30.4031, "lon": 114.8431},
            "hints": {"category_code": "06010"},
        },
    )
    assert r.status_code == 202
    with session_scope() as s:
        holds = s.exec(select(CaseEvent).where(CaseEvent.action == "hold_for_agent")).all()
        assert all("no category" not in (e.reason or "") for e in holds)


def test_any_channel_joins_a_camera_case_in_the_pipeline(client: TestClient) -> None:
    with session_scope() as s:
        cam = _case(s, "camera", minutes_ago=5)
        number = cam.number
    body = {
        "external_id": "link-1",
        "text": "东门菜市场门口暴露垃圾好几天了",
        "location": {"lat": 30.403, "lon": 114.843},
    }
    rep = client.post("/api/v1/reports", json=body).json()
    assert client.get(rep["status_url"]).json()["case_number"] == number
    case = client.get(f"/api/v1/cases/{number}").json()
    assert {r["channel"] for r in case["reports"]} == {"camera", "api"}
    assert case["timeline"][-1]["action"] == "link_report"
