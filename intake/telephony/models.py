"""Tables of the telephony adapter: calls and their IVR steps, inbound texts, opt-outs, the SMS and calls
the system places through Twilio, and the calls it places to agents' own phones."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, Index
from sqlmodel import Field, SQLModel

from cases.models import UTCDateTime, json_column, ts_column, utcnow
from intake.telephony.states import AgentCallStatus, OutboundStatus, SmsKind


class CallSession(SQLModel, table=True):
    """One phone call (inbound or outbound) and where it is in its IVR flow. `context` holds the flow's
    variables (what was said, the classification read back, retries) between webhooks."""

    __tablename__ = "call_session"
    # The hotline's figures (intake.telephony.hotline_stats): calls by hour, callers in the agents' queue.
    __table_args__ = (
        Index("ix_call_session_started_at", "started_at"),
        Index("ix_call_session_queued_at", "queued_at"),
    )

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
    # The agents' queue: when the flow put the caller in it (<Enqueue>), when an agent's leg took them
    # (<Dial><Queue> dequeued them), and how Twilio says they left it (its QueueResult: bridged, hangup,
    # leave — sent to voicemail after the longest wait —, redirected, queue-full, error, system-error) after
    # QueueTime seconds.
    queued_at: datetime | None = ts_column(nullable=True)
    answered_at: datetime | None = ts_column(nullable=True)
    queue_result: str | None = Field(default=None, max_length=24)
    queue_seconds: int | None = None


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
    # The agents' queue: follow-ups by arrival, and a report's thread.
    __table_args__ = (
        Index("ix_sms_message_kind_received", "kind", "received_at"),
        Index("ix_sms_message_report_id", "report_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    message_sid: str = Field(max_length=64, unique=True, index=True)
    phone: str | None = Field(default=None, max_length=40, index=True)
    body: str = Field(default="")
    media: list[str] = json_column(list)
    kind: str = Field(default=SmsKind.REPORT.value, max_length=16)  # an SmsKind
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
    kind: str = Field(max_length=8)  # an OutboundKind
    purpose: str = Field(max_length=32, index=True)  # case_number | dispatch | completion | survey | ...
    to_phone: str = Field(max_length=40)
    body: str = Field(default="")
    url: str | None = Field(default=None, max_length=500)
    case_id: int | None = Field(default=None, foreign_key="case.id", index=True)
    report_id: int | None = Field(default=None, foreign_key="report.id")
    status: str = Field(default=OutboundStatus.QUEUED.value, max_length=16, index=True)  # an OutboundStatus
    twilio_sid: str | None = Field(default=None, max_length=64, index=True)
    attempts: int = 0
    last_error: str | None = None
    not_before: datetime | None = ts_column(nullable=True)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    sent_at: datetime | None = ts_column(nullable=True)


class AgentCall(SQLModel, table=True):
    """A call we place to an agent's own phone, and who it bridged them to: the longest-waiting caller of
    the agents' queue (接听下一位) or the resident of a case (回访). The console reads it for its screen pop.

    `agent_user_id` has no foreign key: the user table belongs to agent_ui, which telephony may not import.
    `status` is an AgentCallStatus; `dial_outcome` is Twilio's DialCallStatus of the agent's <Dial>
    (completed, no-answer, busy, failed, canceled), None until that Dial ended."""

    __tablename__ = "agent_call"

    id: int | None = Field(default=None, primary_key=True)
    agent_user_id: int = Field(index=True)
    actor: str = Field(max_length=64)  # the audit actor of the agent, for the case event a callback writes
    purpose: str = Field(max_length=16)  # an AgentCallPurpose
    status: str = Field(default=AgentCallStatus.QUEUED.value, max_length=16, index=True)
    agent_phone: str = Field(max_length=40)
    agent_call_sid: str | None = Field(default=None, max_length=64, unique=True)
    resident_phone: str | None = Field(default=None, max_length=40)
    resident_call_sid: str | None = Field(default=None, max_length=64, index=True)
    case_id: int | None = Field(default=None, foreign_key="case.id", index=True)
    dial_outcome: str | None = Field(default=None, max_length=16)
    dial_seconds: int | None = None
    last_error: str | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    answered_at: datetime | None = ts_column(nullable=True)
    bridged_at: datetime | None = ts_column(nullable=True)
    ended_at: datetime | None = ts_column(nullable=True)
