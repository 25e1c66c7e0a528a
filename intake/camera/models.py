"""Tables of the camera adapter: registered cameras, the replay guard, and incidents (alerts merged into one
report)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, Index
from sqlmodel import Field, SQLModel

from cases.models import UTCDateTime, json_column, ts_column, utcnow


class Camera(SQLModel, table=True):
    """A registered AI street camera. It signs its alerts with `secret` (HMAC-SHA256), so the server must
    keep the secret itself, not a hash; `hotline cameras rotate-secret` replaces it."""

    __tablename__ = "camera"

    id: str = Field(primary_key=True, max_length=64)
    name: str = Field(default="", max_length=100)
    secret: str = Field(max_length=128)
    lat: float | None = None
    lon: float | None = None
    address: str | None = Field(default=None, max_length=500)
    grid_code: str | None = Field(default=None, max_length=15)
    # Vendor event type (e.g. "garbage_overflow") → taxonomy code (e.g. "0201"). Unmapped types still
    # become reports, but always wait for an agent.
    event_map: dict[str, Any] = json_column(dict)
    min_confidence: float = 0.5
    auto_dispatch: bool = False
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    secret_rotated_at: datetime | None = ts_column(nullable=True)
    last_alert_at: datetime | None = ts_column(nullable=True)


class CameraAlertSignature(SQLModel, table=True):
    """Replay guard: every accepted alert signature, kept a little longer than the allowed clock skew."""

    __tablename__ = "camera_alert_signature"

    signature: str = Field(primary_key=True, max_length=64)
    camera_id: str = Field(max_length=64)
    seen_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False, index=True))


class CameraIncident(SQLModel, table=True):
    """Alerts of one camera and one event type close together in time: one incident, one report."""

    __tablename__ = "camera_incident"
    __table_args__ = (Index("ix_camera_incident_cam_type_last", "camera_id", "event_type", "last_seen"),)

    id: int | None = Field(default=None, primary_key=True)
    camera_id: str = Field(max_length=64)
    event_type: str = Field(max_length=64)
    report_id: int | None = Field(default=None, foreign_key="report.id")
    count: int = 1
    first_seen: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    last_seen: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    max_confidence: float = 0.0
