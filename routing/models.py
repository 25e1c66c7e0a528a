"""Routing's tables: the 回访 (callback survey) attempts agents make on verified cases."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, Index
from sqlmodel import Field, SQLModel

from cases.models import UTCDateTime, ts_column, utcnow


class CallbackHow(StrEnum):
    AGENT_CALL = "agent_call"  # click-to-call from the console (Twilio rang the agent, bridged the resident)
    DESK_PHONE = "desk_phone"  # the agent dialled from a desk phone and recorded the outcome by hand


class CallbackOutcome(StrEnum):
    ANSWERED = "answered"  # the resident answered and the survey was recorded
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    FAILED = "failed"  # the call could not be placed or connected


# Outcomes that count towards HOTLINE_CALLBACK_MAX_ATTEMPTS and are tried again later.
NOT_REACHED = frozenset({CallbackOutcome.NO_ANSWER, CallbackOutcome.BUSY, CallbackOutcome.FAILED})

OUTCOME_ZH = {
    CallbackOutcome.ANSWERED: "已接通",
    CallbackOutcome.NO_ANSWER: "无人接听",
    CallbackOutcome.BUSY: "占线",
    CallbackOutcome.FAILED: "未能接通",
}
HOW_ZH = {CallbackHow.AGENT_CALL: "坐席外呼", CallbackHow.DESK_PHONE: "座机拨打"}


class CallbackAttempt(SQLModel, table=True):
    """One try at reaching the resident of a verified case for its 回访. An attempt belongs to the round of
    handling whose 核实 came before it (`at` after that verify event). `next_try_at`: when the case is due
    again after a failed try; None after the last allowed failure (the SMS rating link went out) and after
    an answered call."""

    __tablename__ = "callback_attempt"
    __table_args__ = (Index("ix_callback_attempt_case_at", "case_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id")
    at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    actor: str = Field(max_length=64)
    how: str = Field(max_length=16)  # a CallbackHow
    outcome: str = Field(max_length=16)  # a CallbackOutcome
    next_try_at: datetime | None = ts_column(nullable=True)
    # The console call it came from (intake's agent_call row; no foreign key across packages' tables is
    # needed to keep one call from being counted twice).
    agent_call_id: int | None = Field(default=None, unique=True)
