"""Linking a camera alert and a resident's report of the same matter (intake.dedupe)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from cases.db import session_scope
from cases.lifecycle import Action
from cases.models import Case, Report, utcnow
from cases.service import apply_action, open_case
from intake.camera.registry import add_camera
from intake.camera.signing import signed_headers
from intake.dedupe import find_case_to_link

GRID = "421102001001001"


def _case(s: Session, channel: str, category: str = "06010", grid: str = GRID, minutes_ago: int = 0) -> Case:
    case = open_case(s, actor="test", category_code=category, grid_code=grid)
    case.created_at = utcnow() - timedelta(minutes=minutes_ago)
    s.add(Report(channel=channel, external_id=f"{channel}-{case.id}", case_id=case.id))
    s.commit()
    return case


def _find(s: Session, channel: str, category: str = "06010", grid: str = GRID) -> Case | None:
    return find_case_to_link(s, channel=channel, category_code=category, grid_code=grid, at=utcnow(),
                             window_seconds=1800)


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
        assert find_case_to_link(s, channel="web", category_code=None, grid_code=GRID, at=utcnow(),
                                 window_seconds=1800) is None


def test_camera_alert_joins_the_residents_case_end_to_end(client: TestClient) -> None:
    r = client.post("/api/v1/reports", json={"channel": "web", "text": "东门菜市场门口暴露垃圾",
                                             "hints": {"category_code": "06010"}})
    assert r.status_code == 202
    with session_scope() as s:
        resident_case = s.exec(select(Case)).one()
        assert resident_case.grid_code == GRID
        cam = add_camera(s, "CAM-L", grid_code=GRID, event_map={"garbage_exposed": "06010"}, auto_dispatch=True)
    body = b'{"event_type": "garbage_exposed", "confidence": 0.9}'
    r = client.post("/api/v1/camera-alerts", content=body,
                    headers={**signed_headers(cam.id, cam.secret, body), "Content-Type": "application/json"})
    assert r.status_code == 202, r.text
    with session_scope() as s:
        report = s.get(Report, r.json()["report_id"])
        assert report is not None and report.case_id == resident_case.id
        assert len(s.exec(select(Case)).all()) == 1
