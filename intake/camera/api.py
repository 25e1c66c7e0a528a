"""POST /api/v1/camera-alerts: authenticate the camera, then hand the alert to `alerts.handle_alert`.

Every refusal (unsigned, unknown camera, wrong signature, stale, replayed, invalid body) happens before
anything is written, so a refused alert leaves no trace in the database.
"""

from __future__ import annotations

import json
import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from cases.metrics import count_signature_failure
from cases.sanitize import has_unsafe
from intake.camera.alerts import CameraAlertIn, Replayed, decode_snapshot, handle_alert
from intake.camera.models import Camera
from intake.camera.settings import camera_settings
from intake.camera.signing import (
    HEADER_CAMERA,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    SignatureError,
    check_timestamp,
    parse_signature,
    verify,
)
from intake.deps import DbSession
from intake.problems import PROBLEM_SCHEMA, problem, problem_responses
from intake.storage import AttachmentRejected

router = APIRouter(prefix="/api/v1", tags=["camera"])


def _authenticate(session: Session, request: Request, body: bytes) -> tuple[Camera, str]:
    camera_id = (request.headers.get(HEADER_CAMERA) or "").strip()
    if not camera_id:
        raise SignatureError(401, "缺少摄像头编号", f"{HEADER_CAMERA} header is required")
    signature = parse_signature(request.headers.get(HEADER_SIGNATURE))
    ts = check_timestamp(request.headers.get(HEADER_TIMESTAMP), time.time(), camera_settings().camera_max_skew_seconds)
    camera = None if has_unsafe(camera_id) else session.get(Camera, camera_id)
    if camera is None:
        # Same answer as a wrong signature: do not tell a prober which camera ids exist.
        raise SignatureError(401, "签名错误", "unknown camera or signature does not match")
    verify(camera.secret, ts, body, signature)
    if not camera.active:
        raise SignatureError(403, "摄像头已停用", f"camera {camera_id} is deactivated")
    return camera, signature


async def _parse(request: Request, body: bytes) -> tuple[CameraAlertIn, bytes | None]:
    """JSON body with optional base64 snapshot, or multipart: `metadata` (JSON) + `snapshot` (file)."""
    ctype = request.headers.get("content-type", "")
    if ctype.startswith("multipart/form-data"):
        form = await request.form()  # Starlette parses the body already read above
        meta = form.get("metadata")
        if not isinstance(meta, str):
            raise ValueError("multipart alerts carry a `metadata` field with the JSON alert")
        alert = CameraAlertIn.model_validate_json(meta)
        snap = form.get("snapshot")
        snapshot = await snap.read() if snap is not None and not isinstance(snap, str) else None
        return alert, snapshot or decode_snapshot(alert.snapshot_base64)
    alert = CameraAlertIn.model_validate_json(body)
    return alert, decode_snapshot(alert.snapshot_base64)


@router.post(
    "/camera-alerts",
    status_code=202,
    responses={
        200: {"description": "Merged into the camera's open incident, or ignored (low confidence)"},
        **problem_responses(400, 401, 403, 413, 422),
        401: {
            "description": "Unsigned, wrongly signed or stale (application/problem+json)",
            "content": {"application/problem+json": {"schema": PROBLEM_SCHEMA}},
        },
    },
)
async def post_camera_alert(request: Request, session: DbSession) -> Any:
    """An AI camera's alert, signed with HMAC-SHA256 of `timestamp + "." + body` (see docs/channels.md)."""
    body = await request.body()
    if len(body) > camera_settings().camera_snapshot_max_bytes * 2:
        return problem(413, "告警内容过大", "request body too large")
    # Database work and image decoding block: run them on the thread pool, not on the event loop.
    try:
        camera_id, signature = await run_in_threadpool(_check_signature, session, request, body)
    except SignatureError as exc:
        if exc.status == 401:  # a deactivated camera (403) signed correctly
            count_signature_failure("camera")
        return problem(exc.status, exc.title, exc.detail)
    try:
        alert, snapshot = await _parse(request, body)
    except ValidationError as exc:  # the fields at fault, not pydantic's text (it echoes input, links docs)
        return problem(
            422,
            "告警内容无效",
            "the alert does not validate",
            errors=[{"loc": [str(p) for p in e["loc"]], "msg": e["msg"]} for e in exc.errors()],
        )
    except (ValueError, json.JSONDecodeError) as exc:  # our own message, or where the JSON breaks
        return problem(422, "告警内容无效", str(exc)[:300])
    return await run_in_threadpool(_store, session, camera_id, alert, signature, snapshot)


def _check_signature(session: Session, request: Request, body: bytes) -> tuple[str, str]:
    camera, signature = _authenticate(session, request, body)
    return camera.id, signature


def _store(session: Session, camera_id: str, alert: CameraAlertIn, signature: str, snapshot: bytes | None) -> Any:
    camera = session.get(Camera, camera_id)
    if camera is None:  # deleted between the two steps
        return problem(401, "签名错误", "unknown camera")
    try:
        outcome = handle_alert(session, camera, alert, signature, snapshot)
    except Replayed:
        return problem(403, "重复的告警签名", "this signature was already used (replay)")
    except AttachmentRejected as exc:
        session.rollback()  # nothing of a refused alert is kept, not even its signature
        return problem(422, exc.message)  # the decoder's own error text stays out of the answer
    return JSONResponse(
        {
            "status": outcome.status,
            "report_id": outcome.report_id,
            "incident_id": outcome.incident_id,
            "count": outcome.count,
            "reason": outcome.reason,
        },
        status_code=202 if outcome.status == "created" else 200,
    )
