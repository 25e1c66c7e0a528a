"""What every channel hands to the intake core, and what the API answers."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, field_validator

from cases.sanitize import CleanStr, SafeIdentifier, clean_data
from cases.states import Channel

# The longest report text a channel hands over; an adapter clips a longer message (keeping it whole in
# `raw`) rather than lose it, the API refuses it (422).
REPORT_TEXT_MAX = 10_000


class LocationIn(BaseModel):
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    address: CleanStr | None = Field(default=None, max_length=500)


class ReportIn(BaseModel):
    """One report from any channel. `external_id` is the channel's own id (CallSid, MessageSid, the
    camera's event id…): posting the same (channel, external_id) again returns the first report."""

    channel: Channel = Channel.API
    external_id: SafeIdentifier | None = Field(default=None, min_length=1, max_length=128)
    text: CleanStr = Field(default="", max_length=REPORT_TEXT_MAX)
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


# --- the internal API's own body: what an outside caller may say (issue 12) -------------------------

API_EXTERNAL_ID = r"^[A-Za-z0-9._:\-]{1,100}$"
RAW_MAX_BYTES = 16 * 1024
RAW_MAX_DEPTH = 6
ATTACHMENT_ID = r"^att_[0-9a-f]{32}$"


def _depth(value: Any, level: int = 1) -> int:
    if isinstance(value, dict):
        return max((_depth(v, level + 1) for v in value.values()), default=level)
    if isinstance(value, list):
        return max((_depth(v, level + 1) for v in value), default=level)
    return level


class ApiHintsIn(BaseModel):
    """Routing hints an API caller with the `routing` scope may give. Typed, so a wrong type is a 422 at
    the door and never a job that fails later; the API also checks that the category and case exist."""

    model_config = ConfigDict(extra="forbid")

    category_code: str | None = Field(default=None, pattern=r"^[0-9A-Za-z]{1,16}$")
    grade: Literal["normal", "urgent", "critical"] | None = None
    needs_review: StrictBool | None = None
    link_case_id: StrictInt | None = Field(default=None, ge=1, le=2**31 - 1)
    camera_grid_code: str | None = Field(default=None, pattern=r"^[0-9]{15}$")


class ApiReportIn(BaseModel):
    """A report posted to POST /api/v1/reports. The server decides channel (`api`), namespace and
    received_at; `reported_at` is the caller's own time, kept in raw as data only."""

    model_config = ConfigDict(
        extra="forbid",
        # Shown in /docs, and sent first by the schema fuzzer so it reaches the accepting path too.
        json_schema_extra={
            "examples": [
                {
                    "external_id": "order-20261202-0001",
                    "text": "胜利街和东门路口的垃圾桶满了，垃圾堆到路边没人清理",
                    "location": {"lat": 30.403, "lon": 114.843, "address": "黄州区胜利街东门路口"},
                }
            ]
        },
    )

    channel: Channel | None = Field(
        default=None, description="Only `api` (or absent): other channels are their adapters' own (403)."
    )
    external_id: str | None = Field(
        default=None,
        pattern=API_EXTERNAL_ID,
        description="The caller's own id, unique per API key (idempotency): 1–100 of A-Z a-z 0-9 . _ : -",
    )
    text: str = Field(default="", max_length=REPORT_TEXT_MAX)
    phone: str | None = Field(default=None, max_length=40)
    location: LocationIn | None = None
    attachments: list[str] = Field(default_factory=list, max_length=20)
    raw: dict[str, Any] = Field(
        default_factory=dict, description=f"Free data, at most {RAW_MAX_BYTES} bytes of JSON, {RAW_MAX_DEPTH} deep."
    )
    hints: ApiHintsIn | None = Field(default=None, description="Routing hints: needs the `routing` scope.")
    reported_at: datetime | None = Field(
        default=None, description="When the caller says it happened (kept as data; within the last year)."
    )

    @field_validator("text")
    @classmethod
    def _strip_text(cls, v: str) -> str:
        return v.strip()

    @field_validator("attachments")
    @classmethod
    def _refs(cls, v: list[str]) -> list[str]:
        for ref in v:
            if not (re.fullmatch(ATTACHMENT_ID, ref) or (re.fullmatch(r"https?://\S{1,990}", ref))):
                raise ValueError("each attachment is an http(s) URL (≤ 1000 characters) or a stored attachment id")
        return v

    @field_validator("raw")
    @classmethod
    def _bounded_raw(cls, v: dict[str, Any]) -> dict[str, Any]:
        if len(json.dumps(v, ensure_ascii=False).encode("utf-8")) > RAW_MAX_BYTES:
            raise ValueError(f"raw is larger than {RAW_MAX_BYTES} bytes of JSON")
        if _depth(v) > RAW_MAX_DEPTH:
            raise ValueError(f"raw is nested deeper than {RAW_MAX_DEPTH} levels")
        return v

    @field_validator("reported_at")
    @classmethod
    def _sane_time(cls, v: datetime | None) -> datetime | None:
        if v is None:
            return None
        if v.tzinfo is None:
            raise ValueError("reported_at needs a UTC offset (e.g. 2026-12-01T08:00:00+08:00)")
        now = datetime.now(UTC)
        if not now - timedelta(days=366) <= v <= now + timedelta(minutes=10):
            raise ValueError("reported_at must lie within the last year (and not in the future)")
        return v.astimezone(UTC)

    def is_empty(self) -> bool:
        loc = self.location
        has_place = loc is not None and (loc.address or (loc.lat is not None and loc.lon is not None))
        return not self.text and not has_place and not self.attachments
