"""Tables of the domain kernel. Everything else reads and writes the database through these."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Index, UniqueConstraint
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from cases.lifecycle import CaseStatus


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC on the way in and out, also on SQLite (which drops the offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def ts_column(nullable: bool = False, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


def json_column(default: Any) -> Any:
    return Field(default_factory=default, sa_column=Column(JSON, nullable=False))


class Report(SQLModel, table=True):
    """One thing a resident (or a camera) said, exactly as it arrived. Stored before it is acknowledged."""

    __tablename__ = "report"
    __table_args__ = (UniqueConstraint("channel", "external_id", name="uq_report_channel_external_id"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16, index=True)
    external_id: str = Field(max_length=128)
    received_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False, index=True))
    raw: dict[str, Any] = json_column(dict)
    text: str = Field(default="")
    phone: str | None = Field(default=None, max_length=32, index=True)
    lat: float | None = None
    lon: float | None = None
    address: str | None = Field(default=None, max_length=500)
    attachments: list[str] = json_column(list)
    # What the channel already knows: a camera's grid and mapped category, a category the resident
    # picked on the web form, whether an agent must confirm. Read by the pipeline as evidence.
    hints: dict[str, Any] = json_column(dict)
    case_id: int | None = Field(default=None, foreign_key="case.id", index=True)
    # Pipeline bookkeeping: the sweeper and `hotline jobs` read these.
    processing_status: str = Field(default="pending", max_length=16, index=True)
    attempts: int = 0
    last_error: str | None = None
    last_attempt_at: datetime | None = ts_column(nullable=True)


class Case(SQLModel, table=True):
    """The unit of work that moves through 立案 → 派遣 → … → 结案."""

    __tablename__ = "case"

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=32, unique=True, index=True)
    title: str = Field(default="", max_length=200)
    category_code: str | None = Field(default=None, max_length=16, index=True)
    category_confidence: float | None = None
    grid_code: str | None = Field(default=None, max_length=15, index=True)
    grid_confidence: float | None = None
    grid_source: str | None = Field(default=None, max_length=16)
    grade: str = Field(default="normal", max_length=16)
    department_code: str | None = Field(default=None, max_length=32, index=True)
    status: str = Field(default=CaseStatus.REPORTED.value, max_length=16, index=True)
    needs_review: bool = False
    dispatch_deadline: datetime | None = ts_column(nullable=True)
    handle_deadline: datetime | None = ts_column(nullable=True, index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    closed_at: datetime | None = ts_column(nullable=True)


class CaseEvent(SQLModel, table=True):
    """Append-only audit trail: every change to a case, who made it and why."""

    __tablename__ = "case_event"
    __table_args__ = (Index("ix_case_event_case_at", "case_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id")
    at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    actor: str = Field(max_length=64)
    action: str = Field(max_length=32)
    from_status: str | None = Field(default=None, max_length=16)
    to_status: str | None = Field(default=None, max_length=16)
    reason: str | None = None
    data: dict[str, Any] = json_column(dict)


class CaseCounter(SQLModel, table=True):
    """Per-day sequence behind public case numbers (12319-YYYYMMDD-000123)."""

    __tablename__ = "case_counter"

    day: str = Field(primary_key=True, max_length=8)
    last: int = 0


class Department(SQLModel, table=True):
    """承办单位: who handles cases."""

    __tablename__ = "department"

    code: str = Field(primary_key=True, max_length=32)
    name: str = Field(max_length=100)
    phone: str | None = Field(default=None, max_length=32)
    active: bool = True


class Grid(SQLModel, table=True):
    """网格: a small cell of the city with its grid worker. Code is the national 15-digit form."""

    __tablename__ = "grid"

    code: str = Field(primary_key=True, max_length=15)
    name: str = Field(max_length=100)
    street_code: str = Field(default="", max_length=9)
    street: str = Field(default="", max_length=50)
    community_code: str = Field(default="", max_length=12, index=True)
    community: str = Field(default="", max_length=50)
    places: list[str] = json_column(list)
    geometry: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    worker_name: str | None = Field(default=None, max_length=50)
    worker_phone: str | None = Field(default=None, max_length=32)


class Category(SQLModel, table=True):
    """A matter (事件) or component (部件) of the national taxonomy, or a local addition."""

    __tablename__ = "category"

    kind: str = Field(primary_key=True, max_length=8)  # 事件 / 部件
    code: str = Field(primary_key=True, max_length=16)
    name: str = Field(max_length=100)
    major_code: str = Field(default="", max_length=4)
    major_name: str = Field(default="", max_length=50)
    parent_code: str | None = Field(default=None, max_length=16)
    active: bool = True
    standard: str = Field(default="", max_length=40)


# --- channels: web form, cameras, Open311 (issue 6) -------------------------------------------------


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


# --- telephony: Twilio voice and SMS (issue 5) -------------------------------------------------------


class CallSession(SQLModel, table=True):
    """One phone call (inbound or outbound) and where it is in its IVR flow. `context` holds the flow's
    variables (what was said, the classification read back, retries) between webhooks."""

    __tablename__ = "call_session"

    id: int | None = Field(default=None, primary_key=True)
    call_sid: str = Field(max_length=64, unique=True, index=True)
    direction: str = Field(default="inbound", max_length=16)
    flow: str = Field(default="main", max_length=32)
    from_phone: str | None = Field(default=None, max_length=40)
    to_phone: str | None = Field(default=None, max_length=40)
    status: str = Field(default="in-progress", max_length=24)
    context: dict[str, Any] = json_column(dict)
    turn: int = 0
    report_id: int | None = Field(default=None, foreign_key="report.id")
    case_id: int | None = Field(default=None, foreign_key="case.id")
    duration_seconds: int | None = None
    error_code: str | None = Field(default=None, max_length=16)
    error_url: str | None = Field(default=None, max_length=500)
    started_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    ended_at: datetime | None = ts_column(nullable=True)


class CallStep(SQLModel, table=True):
    """One webhook of a call: the step, what the caller pressed or said, the TwiML answered and how long it
    took. `request_key` (CallSid + path + turn) makes Twilio's retries return the first answer."""

    __tablename__ = "call_step"

    id: int | None = Field(default=None, primary_key=True)
    call_sid: str = Field(max_length=64, index=True)
    request_key: str = Field(max_length=300, unique=True)
    flow: str = Field(default="", max_length=32)
    step: str = Field(default="", max_length=64)
    digits: str | None = Field(default=None, max_length=64)
    speech: str | None = None
    confidence: float | None = None
    response: str = Field(default="")
    error: str | None = None
    elapsed_ms: float = 0.0
    at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class SmsMessage(SQLModel, table=True):
    """An inbound text (MessageSid unique: a retried webhook is recognised) and the report it went to."""

    __tablename__ = "sms_message"

    id: int | None = Field(default=None, primary_key=True)
    message_sid: str = Field(max_length=64, unique=True, index=True)
    phone: str | None = Field(default=None, max_length=40, index=True)
    body: str = Field(default="")
    media: list[str] = json_column(list)
    kind: str = Field(default="report", max_length=16)  # report | append | query | stop | start | help
    report_id: int | None = Field(default=None, foreign_key="report.id")
    reply: str = Field(default="")
    received_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class SmsOptOut(SQLModel, table=True):
    """A number that texted 退订/STOP: no more notices until it texts START."""

    __tablename__ = "sms_opt_out"

    phone: str = Field(primary_key=True, max_length=40)
    at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class OutboundMessage(SQLModel, table=True):
    """An SMS or call the system places through Twilio. `dedupe_key` makes each notice happen once."""

    __tablename__ = "outbound_message"

    id: int | None = Field(default=None, primary_key=True)
    dedupe_key: str = Field(max_length=200, unique=True)
    kind: str = Field(max_length=8)  # sms | call
    purpose: str = Field(max_length=32, index=True)  # case_number | dispatch | completion | survey | ...
    to_phone: str = Field(max_length=40)
    body: str = Field(default="")
    url: str | None = Field(default=None, max_length=500)
    case_id: int | None = Field(default=None, foreign_key="case.id", index=True)
    report_id: int | None = Field(default=None, foreign_key="report.id")
    status: str = Field(default="queued", max_length=16, index=True)
    twilio_sid: str | None = Field(default=None, max_length=64, index=True)
    attempts: int = 0
    last_error: str | None = None
    not_before: datetime | None = ts_column(nullable=True)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    sent_at: datetime | None = ts_column(nullable=True)


# --- classifier: agents' corrections and model versions (issue 4) -----------------------------------


class LabelledExample(SQLModel, table=True):
    """A text with the category (and grid) a person confirmed or corrected; the next model learns it."""

    __tablename__ = "labelled_example"

    id: int | None = Field(default=None, primary_key=True)
    text: str
    label: str = Field(max_length=16, index=True)
    grid_code: str | None = Field(default=None, max_length=15)
    who: str = Field(max_length=64)
    at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False, index=True))
    source: str = Field(default="correction", max_length=16)  # correction | confirm | import
    case_id: int | None = Field(default=None, index=True)


class ModelVersion(SQLModel, table=True):
    """A trained category model on disk. At most one is active; old ones stay so they can be re-activated."""

    __tablename__ = "model_version"

    version: str = Field(primary_key=True, max_length=64)
    path: str = Field(max_length=500)
    card: dict[str, Any] = json_column(dict)
    macro_f1: float | None = None
    active: bool = Field(default=False, index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
