"""Camera alerts: signed ones open (merged) cases; unsigned, wrong, stale and replayed ones store nothing."""

from __future__ import annotations

import base64
import io
import json
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlmodel import select

from cases.db import session_scope
from cases.models import Case, Report
from intake.camera.models import Camera, CameraAlertSignature, CameraIncident
from intake.camera.registry import add_camera, parse_event_map, rotate_secret
from intake.camera.signing import signed_headers
from intake.models import Attachment

URL = "/api/v1/camera-alerts"
GRID = "421102001001001"  # 东门社区第1网格


def _jpeg_b64() -> str:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (120, 140, 90)).save(buf, "JPEG")
    return base64.b64encode(buf.getvalue()).decode()


@pytest.fixture
def camera(client: TestClient) -> Camera:
    with session_scope() as s:
        return add_camera(
            s,
            "CAM-DM-01",
            name="东门菜市场东口",
            lat=30.403,
            lon=114.843,
            address="东门菜市场东口",
            grid_code=GRID,
            event_map={"garbage_exposed": "06010"},
            min_confidence=0.6,
            auto_dispatch=True,
        )


def _body(**over: Any) -> bytes:
    alert = {
        "event_id": "ev-1",
        "event_type": "garbage_exposed",
        "confidence": 0.91,
        "occurred_at": "2026-11-25T08:00:00+08:00",
        "bbox": [10, 20, 100, 80],
    }
    alert.update(over)
    return json.dumps(alert).encode()


def _post(client: TestClient, cam: Camera, body: bytes, **kw: Any) -> Any:
    headers = signed_headers(cam.id, cam.secret, body, **kw)
    return client.post(URL, content=body, headers={**headers, "Content-Type": "application/json"})


def _counts() -> dict[str, int]:
    with session_scope() as s:
        return {
            "reports": len(s.exec(select(Report)).all()),
            "cases": len(s.exec(select(Case)).all()),
            "signatures": len(s.exec(select(CameraAlertSignature)).all()),
            "incidents": len(s.exec(select(CameraIncident)).all()),
            "attachments": len(s.exec(select(Attachment)).all()),
        }


def test_signed_alert_opens_a_dispatched_case(client: TestClient, camera: Camera) -> None:
    r = _post(client, camera, _body(snapshot_base64=_jpeg_b64()))
    assert r.status_code == 202, r.text
    assert r.json()["status"] == "created"
    with session_scope() as s:
        report = s.get(Report, r.json()["report_id"])
        assert report is not None and report.channel == "camera"
        assert report.hints["camera_grid_code"] == GRID and report.hints["category_code"] == "06010"
        assert len(report.attachments) == 1 and report.attachments[0].startswith("att_")
        case = s.get(Case, report.case_id)
        assert case is not None
        assert (case.category_code, case.grid_code, case.status) == ("06010", GRID, "dispatched")


def test_agent_camera_waits_for_review(client: TestClient) -> None:
    with session_scope() as s:
        cam = add_camera(s, "CAM-2", grid_code=GRID, event_map={"garbage_exposed": "06010"})
    r = _post(client, cam, _body())
    with session_scope() as s:
        case = s.get(Case, s.get(Report, r.json()["report_id"]).case_id)  # type: ignore[union-attr]
        assert case is not None and case.needs_review and case.status == "registered"


@pytest.mark.parametrize(
    "mangle",
    ["unsigned", "wrong_secret", "tampered_body", "stale", "future", "unknown_camera", "garbage_signature"],
)
def test_bad_alerts_are_refused_and_store_nothing(client: TestClient, camera: Camera, mangle: str) -> None:
    body = _body()
    headers = signed_headers(camera.id, camera.secret, body)
    if mangle == "unsigned":
        headers = {}
    elif mangle == "wrong_secret":
        headers = signed_headers(camera.id, "not-the-secret", body)
    elif mangle == "tampered_body":
        body = _body(confidence=0.99)
    elif mangle == "stale":
        headers = signed_headers(camera.id, camera.secret, body, timestamp=int(time.time()) - 301)
    elif mangle == "future":
        headers = signed_headers(camera.id, camera.secret, body, timestamp=int(time.time()) + 400)
    elif mangle == "unknown_camera":
        headers = signed_headers("CAM-NOPE", camera.secret, body)
    elif mangle == "garbage_signature":
        headers["X-Signature"] = "zz"
    r = client.post(URL, content=body, headers={**headers, "Content-Type": "application/json"})
    assert r.status_code == 401, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert _counts() == {"reports": 0, "cases": 0, "signatures": 0, "incidents": 0, "attachments": 0}


def test_replayed_alert_is_refused_and_changes_nothing(client: TestClient, camera: Camera) -> None:
    body = _body()
    headers = {**signed_headers(camera.id, camera.secret, body), "Content-Type": "application/json"}
    assert client.post(URL, content=body, headers=headers).status_code == 202
    before = _counts()
    with session_scope() as s:
        count_before = s.exec(select(CameraIncident)).one().count
    again = client.post(URL, content=body, headers=headers)
    assert again.status_code == 403
    assert again.json()["title"] == "重复的告警签名"
    assert _counts() == before
    with session_scope() as s:
        assert s.exec(select(CameraIncident)).one().count == count_before


def test_burst_of_20_alerts_is_one_report(client: TestClient, camera: Camera) -> None:
    statuses = []
    for i in range(20):
        r = _post(client, camera, _body(event_id=f"ev-{i}", confidence=0.7 + i / 100))
        assert r.status_code in (200, 202), r.text
        statuses.append(r.json()["status"])
    assert statuses == ["created"] + ["merged"] * 19
    c = _counts()
    assert (c["reports"], c["cases"], c["incidents"], c["signatures"]) == (1, 1, 1, 20)
    with session_scope() as s:
        inc = s.exec(select(CameraIncident)).one()
        assert inc.count == 20 and inc.last_seen >= inc.first_seen
        assert inc.max_confidence == pytest.approx(0.89)


def test_other_event_type_or_after_window_is_a_new_report(
    client: TestClient, camera: Camera, monkeypatch: pytest.MonkeyPatch
) -> None:
    _post(client, camera, _body(event_id="a"))
    _post(client, camera, _body(event_id="b", event_type="illegal_vending"))
    assert _counts()["reports"] == 2
    monkeypatch.setenv("HOTLINE_CAMERA_MERGE_WINDOW_SECONDS", "0")
    from hotline.settings import reset_settings

    reset_settings()
    time.sleep(0.01)
    _post(client, camera, _body(event_id="c"))
    assert _counts()["reports"] == 3
    with session_scope() as s:
        unmapped = s.exec(select(Report).where(Report.external_id == "incident-2")).one()
        assert unmapped.hints["needs_review"] is True and "category_code" not in unmapped.hints


def test_low_confidence_is_ignored(client: TestClient, camera: Camera) -> None:
    r = _post(client, camera, _body(confidence=0.3))
    assert r.status_code == 200 and r.json()["status"] == "ignored"
    assert _counts()["reports"] == 0


def test_multipart_snapshot_and_bad_image(client: TestClient, camera: Camera) -> None:
    img = base64.b64decode(_jpeg_b64())
    from httpx import Request

    req = Request(
        "POST", "http://x" + URL, data={"metadata": _body().decode()}, files={"snapshot": ("s.jpg", img, "image/jpeg")}
    )
    body = req.read()
    headers = {**signed_headers(camera.id, camera.secret, body), "Content-Type": req.headers["content-type"]}
    r = client.post(URL, content=body, headers=headers)
    assert r.status_code == 202, r.text
    assert _counts()["attachments"] == 1
    bad = _body(event_id="x", event_type="other", snapshot_base64=base64.b64encode(b"not an image").decode())
    r = _post(client, camera, bad)
    assert r.status_code == 422
    assert _counts()["signatures"] == 1  # the refused alert left nothing, not even its signature


def test_rotate_secret_invalidates_old_one(client: TestClient, camera: Camera) -> None:
    with session_scope() as s:
        new = rotate_secret(s, camera.id)
    assert new != camera.secret
    assert _post(client, camera, _body()).status_code == 401
    camera.secret = new
    assert _post(client, camera, _body()).status_code == 202


def test_parse_event_map() -> None:
    assert parse_event_map(["a=06010", " b = 01002 "]) == {"a": "06010", "b": "01002"}
    with pytest.raises(ValueError):
        parse_event_map(["nonsense"])


def test_old_signatures_are_forgotten(client: TestClient, camera: Camera) -> None:
    from datetime import timedelta

    from cases.models import utcnow

    with session_scope() as s:
        s.add(CameraAlertSignature(signature="a" * 64, camera_id=camera.id, seen_at=utcnow() - timedelta(hours=1)))
        s.add(CameraAlertSignature(signature="b" * 64, camera_id=camera.id, seen_at=utcnow() - timedelta(minutes=5)))
        s.commit()
    _post(client, camera, _body())
    with session_scope() as s:
        kept = {row.signature for row in s.exec(select(CameraAlertSignature)).all()}
    # The hour-old signature is gone; the recent one and the new alert's stay.
    assert "a" * 64 not in kept and "b" * 64 in kept and len(kept) == 2
