"""What every channel hands to the intake core, and what the API answers."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from cases.sanitize import CleanStr, SafeIdentifier, clean_data

Channel = Literal["voice", "sms", "web", "camera", "open311", "api"]
CHANNELS: tuple[str, ...] = ("voice", "sms", "web", "camera", "open311", "api")


class LocationIn(BaseModel):
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    address: CleanStr | None = Field(default=None, max_length=500)


class ReportIn(BaseModel):
    """One report from any channel. `external_id` is the channel's own id (CallSid, MessageSid, the
    camera's event id…): posting the same (channel, external_id) again returns the first report."""

    channel: Channel = "api"
    external_id: SafeIdentifier | None = Field(default=None, min_length=1, max_length=128)
    text: CleanStr = Field(default="", max_length=10_000)
    phone: CleanStr | None = Field(default=None, max_length=40)
    location: LocationIn | None = None
    attachments: list[SafeIdentifier] = Field(default_factory=list, max_length=20)
    raw: dict[str, Any] = Field(default_factory=dict)
    hints: dict[str, Any] = Field(default_factory=dict)
    received_at: datetime | None = None

    @field_validator("text")
    @classmethod
    def _strip(cls, v: str) -> str:
        return v.strip()

    @field_validator("raw", "hints")
    @classmethod
    def _storable(cls, v: dict[str, Any]) -> dict[str, Any]:
        cleaned: dict[str, Any] = clean_data(v)  # PostgreSQL JSON refuses \u0000
        return cleaned

    @field_validator("attachments")
    @classmethod
    def _attachment_refs(cls, v: list[str]) -> list[str]:
        for ref in v:
            if not ref or len(ref) > 1000:
                raise ValueError("each attachment is a URL or a stored attachment id (1–1000 characters)")
        return v


class ReportAccepted(BaseModel):
    report_id: int
    status_url: str
    duplicate: bool
    case_number: str | None = None
