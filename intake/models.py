"""Tables of the intake core, shared by several channel adapters: API keys (internal API, Open311), track
tokens (web form, SMS) and stored attachments (web form, MMS, cameras, API)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from cases.models import UTCDateTime, json_column, ts_column, utcnow


class ApiKey(SQLModel, table=True):
    """A machine client's key (internal API, Open311). Only the SHA-256 of the key is stored; the key is
    shown once at creation. `scopes` says what it may do (intake.apikeys.SCOPES)."""

    __tablename__ = "api_key"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    key_hash: str = Field(max_length=64, unique=True, index=True)
    prefix: str = Field(max_length=12)
    scopes: list[str] = json_column(list)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    revoked_at: datetime | None = ts_column(nullable=True)
    last_used_at: datetime | None = ts_column(nullable=True)


class TrackToken(SQLModel, table=True):
    """Proof that someone is the reporter: a random token in the link we texted them (or showed them after
    the web form), stored only as its SHA-256. It opens the track page of that report's case."""

    __tablename__ = "track_token"

    token_hash: str = Field(primary_key=True, max_length=64)
    report_id: int = Field(foreign_key="report.id", index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class Attachment(SQLModel, table=True):
    """A stored image (re-encoded, metadata stripped) and its thumbnail. Reports refer to it by id."""

    __tablename__ = "attachment"

    id: str = Field(primary_key=True, max_length=40)
    content_type: str = Field(max_length=32)
    size: int
    width: int
    height: int
    sha256: str = Field(max_length=64, index=True)
    storage_key: str = Field(max_length=200)
    thumb_key: str | None = Field(default=None, max_length=200)
    channel: str = Field(default="web", max_length=16)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
