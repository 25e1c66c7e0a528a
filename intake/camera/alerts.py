"""Turn one authenticated camera alert into a report, or fold it into the camera's open incident.

A camera that sees overflowing rubbish fires every few seconds for as long as it sees it; residents
must not get 20 cases for one bin. Alerts of the same camera and vendor event type within the merge
window are one incident (count and last_seen kept) and one report.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from cases.models import utcnow
from cases.reference import reference_names
from cases.sanitize import SafeIdentifier
from cases.settings import kernel_settings
from cases.states import Channel
from intake.camera.models import Camera, CameraAlertSignature, CameraIncident
from intake.camera.settings import camera_settings
from intake.core import accept
from intake.schemas import LocationIn, ReportIn
from intake.storage import store_image


class CameraAlertIn(BaseModel):
    """The alert body (JSON, or the `metadata` part of a multipart request)."""

    event_id: SafeIdentifier | None = Field(default=None, max_length=100, description="The vendor's id of this alert.")
    event_type: SafeIdentifier = Field(
        min_length=1, max_length=64, description="Vendor event type, e.g. garbage_exposed."
    )
    confidence: float = Field(ge=0.0, le=1.0)
    occurred_at: datetime | None = None
    snapshot_base64: str | None = Field(default=None, description="JPEG/PNG, base64 (or send multipart).")
    bbox: list[float] | None = Field(default=None, min_length=4, max_length=4, description="x, y, w, h")


class Replayed(Exception):
    pass


@dataclass(frozen=True)
class AlertOutcome:
    status: Literal["created", "merged", "ignored"]
    report_id: int | None
    incident_id: int | None
    count: int
    reason: str | None = None


def decode_snapshot(b64: str | None) -> bytes | None:
    if not b64:
        return None
    data = b64.split(",", 1)[1] if b64.startswith("data:") else b64
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("snapshot_base64 is not valid base64") from None


def remember_signature(session: Session, camera: Camera, signature: str) -> None:
    """Insert the signature; a second use of it raises Replayed (the primary key refuses it)."""
    try:
        with session.begin_nested():  # a refused signature leaves the caller's session usable
            session.add(CameraAlertSignature(signature=signature, camera_id=camera.id))
    except IntegrityError:
        raise Replayed() from None


def handle_alert(
    session: Session, camera: Camera, alert: CameraAlertIn, signature: str, snapshot: bytes | None
) -> AlertOutcome:
    """Store the alert's effect; the caller commits. Raises Replayed, or AttachmentRejected (caller rolls
    back)."""
    settings = camera_settings()
    now = utcnow()
    remember_signature(session, camera, signature)
    # A signature can be replayed only while its timestamp is within the skew on either side: after
    # twice the skew it can never pass the timestamp check again, so it need not be remembered.
    forget_before = now - timedelta(seconds=2 * settings.camera_max_skew_seconds + 60)
    session.execute(delete(CameraAlertSignature).where(col(CameraAlertSignature.seen_at) < forget_before))
    if alert.confidence < camera.min_confidence:
        # The signature stays used (committed by the caller); nothing else is stored.
        return AlertOutcome("ignored", None, None, 0, f"confidence below {camera.min_confidence}")

    # Serialise alerts of this camera: the UPDATE takes the camera's row lock (PostgreSQL) or the write
    # lock (SQLite) before we look for an open incident, so two simultaneous alerts cannot both open one.
    session.execute(update(Camera).where(col(Camera.id) == camera.id).values(last_alert_at=now))
    window = timedelta(seconds=kernel_settings().camera_merge_window_seconds)
    incident = session.exec(
        select(CameraIncident)
        .where(
            CameraIncident.camera_id == camera.id,
            CameraIncident.event_type == alert.event_type,
            col(CameraIncident.last_seen) >= now - window,
        )
        .order_by(col(CameraIncident.last_seen).desc())
    ).first()
    if incident is not None:
        incident.count += 1
        incident.last_seen = now
        incident.max_confidence = max(incident.max_confidence, alert.confidence)
        session.add(incident)
        return AlertOutcome("merged", incident.report_id, incident.id, incident.count)

    incident = CameraIncident(
        camera_id=camera.id,
        event_type=alert.event_type,
        first_seen=now,
        last_seen=now,
        max_confidence=alert.confidence,
    )
    session.add(incident)
    session.flush()
    assert incident.id is not None
    attachments = [store_image(session, snapshot, channel=Channel.CAMERA).id] if snapshot else []
    category_code = camera.event_map.get(alert.event_type)
    label = reference_names().category(category_code) or alert.event_type
    raw: dict[str, Any] = alert.model_dump(mode="json", exclude={"snapshot_base64"})
    raw["camera_id"] = camera.id
    hints: dict[str, Any] = {
        "camera_id": camera.id,
        "camera_incident_id": incident.id,
        "camera_grid_code": camera.grid_code,
        "camera_event_type": alert.event_type,
        "camera_confidence": alert.confidence,
        # An unmapped vendor type has no category we trust: an agent must look.
        "needs_review": (not camera.auto_dispatch) or category_code is None,
    }
    if category_code:
        hints["category_code"] = category_code
    # The caller commits the incident, the signature and the report together.
    result = accept(
        session,
        ReportIn(
            channel=Channel.CAMERA,
            external_id=f"incident-{incident.id}",
            text=f"摄像头告警：{label}（{camera.name or camera.id}，置信度 {alert.confidence:.2f}）",
            location=LocationIn(lat=camera.lat, lon=camera.lon, address=camera.address)
            if camera.lat is not None or camera.address
            else None,
            attachments=attachments,
            raw=raw,
            hints=hints,
            received_at=now,
        ),
    )
    incident.report_id = result.report.id
    session.add(incident)
    return AlertOutcome("created", result.report.id, incident.id, 1)
