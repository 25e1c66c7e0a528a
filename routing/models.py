"""Routing's tables: 回访 attempts, the working calendar, SLA policies and clocks, the escalation ladder's
steps, extension requests, how departments are reached (contacts, webhooks, notices), and hotspot episodes."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint, text
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


# --- the working calendar ----------------------------------------------------------------------------


class DayKind(StrEnum):
    HOLIDAY = "holiday"  # 法定节假日 (or a city's own day off): no working time
    WORKDAY = "workday"  # 调休 make-up workday on a weekend, or a city's extra working day


class CalendarDay(SQLModel, table=True):
    """A day that is not what its weekday says: a public holiday, a 调休 make-up workday, or a city's own
    exception; a day with `periods` works those hours instead of the usual ones. Days not listed follow
    the weekly pattern (HOTLINE_WORKING_WEEKDAYS / HOTLINE_WORKING_PERIODS)."""

    __tablename__ = "calendar_day"

    day: date = Field(primary_key=True)
    kind: str = Field(max_length=8)  # a DayKind
    name: str = Field(default="", max_length=50)  # 国庆节, 国庆节调休, 台风停工 …
    # [["08:30", "12:00"], …] for a workday with hours of its own; None: the usual periods.
    periods: list[list[str]] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    source: str = Field(default="state_council", max_length=16)  # state_council | city
    note: str = Field(default="")
    editor: str = Field(default="system", max_length=64)
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class CalendarChange(SQLModel, table=True):
    """Who changed which day, when and why (an import is one change per day it touched)."""

    __tablename__ = "calendar_change"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    editor: str = Field(max_length=64)
    note: str = Field(default="")
    day: date = Field(index=True)
    before: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    after: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))


# --- SLA policies and the clocks they start ---------------------------------------------------------


class ClockKind(StrEnum):
    SIGN = "sign"  # 签收: from 派遣 to the department signing for it
    HANDLE = "handle"  # 办结: from 签收 to 反馈
    VERIFY = "verify"  # 核实: from 反馈 to the grid worker's (or agent's) verification


class ClockOutcome(StrEnum):
    MET = "met"  # stopped by its own step before the deadline
    LATE = "late"  # stopped by its own step after the deadline
    RETURNED = "returned"  # 退单 stopped it
    CANCELLED = "cancelled"  # the case moved on otherwise (merged, rejected, reopened, re-dispatched)


class SlaPolicy(SQLModel, table=True):
    """Time limits for a category (exact code), a category group (code prefix) or every case, × grade.
    Versioned: an edit adds a row with the next version and deactivates the old one, so a clock keeps the
    limits it was started with. Units: working_hours, working_days (of the calendar) or hours (natural)."""

    __tablename__ = "sla_policy"
    __table_args__ = (UniqueConstraint("code", "version", name="uq_sla_policy_code_version"),)

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=64, index=True)
    version: int = 1
    name: str = Field(default="", max_length=100)
    category_code: str | None = Field(default=None, max_length=16)  # exact matter code
    category_prefix: str | None = Field(default=None, max_length=16)  # a group: codes starting with it
    grade: str | None = Field(default=None, max_length=16)  # None: any grade
    sign_amount: float = 1
    sign_unit: str = Field(default="working_hours", max_length=16)
    handle_amount: float = 2
    handle_unit: str = Field(default="working_days", max_length=16)
    verify_amount: float = 1
    verify_unit: str = Field(default="working_days", max_length=16)
    require_photo: bool = False  # 反馈 must carry photo evidence
    active: bool = True
    editor: str = Field(default="system", max_length=64)
    note: str = Field(default="")
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


RUNNING_CLOCK = "stopped_at IS NULL"


class SlaClock(SQLModel, table=True):
    """One clock of one case: started by a move (派遣 starts 签收, 签收 starts 办结, 反馈 starts 核实), paused
    while the case waits on the resident or on an extension decision, stopped by the move that ends it.
    `due_at` is the deadline while it runs; while paused it is None and `remaining_seconds` holds what was
    left (working seconds for working units, natural seconds otherwise)."""

    __tablename__ = "sla_clock"
    __table_args__ = (
        Index("ix_sla_clock_case", "case_id", "kind"),
        # The escalation sweep: running clocks by deadline, a few thousand rows however long the history.
        Index(
            "ix_sla_clock_running_due", "due_at", postgresql_where=text(RUNNING_CLOCK), sqlite_where=text(RUNNING_CLOCK)
        ),
        # The dashboard's clocks of a day: those that stopped in it, and the 签收 clocks (派遣) started in it.
        Index("ix_sla_clock_stopped_at", "stopped_at"),
        Index("ix_sla_clock_kind_started", "kind", "started_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id")
    kind: str = Field(max_length=8)  # a ClockKind
    department_code: str | None = Field(default=None, max_length=32)
    grade: str = Field(default="normal", max_length=16)
    policy_code: str | None = Field(default=None, max_length=64)
    policy_version: int | None = None
    limit_amount: float
    limit_unit: str = Field(max_length=16)
    started_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    due_at: datetime | None = ts_column(nullable=True)
    paused_at: datetime | None = ts_column(nullable=True)
    pause_reason: str | None = Field(default=None, max_length=32)  # request_info | request_extension
    remaining_seconds: float | None = None
    stopped_at: datetime | None = ts_column(nullable=True)
    outcome: str | None = Field(default=None, max_length=16)  # a ClockOutcome


class EscalationStep(SQLModel, table=True):
    """A ladder step taken on a clock. The unique pair makes each step happen once however many sweeps run
    it: the sweep inserts the row first and acts only when its insert won."""

    __tablename__ = "escalation_step"
    __table_args__ = (UniqueConstraint("clock_id", "step", name="uq_escalation_step_clock_step"),)

    id: int | None = Field(default=None, primary_key=True)
    clock_id: int = Field(foreign_key="sla_clock.id")
    case_id: int = Field(foreign_key="case.id", index=True)
    step: str = Field(max_length=32)
    at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class ExtensionState(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REFUSED = "refused"


class ExtensionRequest(SQLModel, table=True):
    """延期申请: a department asks for more time; a supervisor approves or refuses."""

    __tablename__ = "extension_request"
    __table_args__ = (Index("ix_extension_request_state", "state", "requested_at"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    clock_id: int | None = Field(default=None, foreign_key="sla_clock.id")
    department_code: str | None = Field(default=None, max_length=32)
    requested_by: str = Field(max_length=64)
    requested_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    reason: str
    working_days: int
    requested_until: datetime | None = ts_column(nullable=True)  # the date the department asked for
    state: str = Field(default=ExtensionState.PENDING.value, max_length=16)
    decided_by: str | None = Field(default=None, max_length=64)
    decided_at: datetime | None = ts_column(nullable=True)
    decision_note: str | None = None


# --- who a department is, for notices -----------------------------------------------------------------


class ContactRole(StrEnum):
    DUTY = "duty"  # 值班联系人: dispatch notices and the early ladder steps
    HEAD = "head"  # 负责人: 催办 and 督办


class DepartmentContact(SQLModel, table=True):
    """A person a department is reached through (phone for SMS), maintained by an admin."""

    __tablename__ = "department_contact"

    id: int | None = Field(default=None, primary_key=True)
    department_code: str = Field(foreign_key="department.code", index=True, max_length=32)
    name: str = Field(max_length=50)
    phone: str = Field(max_length=32)
    role: str = Field(default=ContactRole.DUTY.value, max_length=8)
    active: bool = True
    updated_by: str = Field(default="system", max_length=64)
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class DepartmentWebhook(SQLModel, table=True):
    """A department's own system, told of its cases by a signed JSON POST (HMAC-SHA256 over timestamp and
    body; the receiver refuses old timestamps and repeated delivery ids)."""

    __tablename__ = "department_webhook"

    department_code: str = Field(foreign_key="department.code", primary_key=True, max_length=32)
    url: str = Field(max_length=500)
    secret: str = Field(max_length=128)
    active: bool = True
    updated_by: str = Field(default="system", max_length=64)
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class NoticeState(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"  # out of attempts: shown to admins, retried by hand


class DepartmentNotice(SQLModel, table=True):
    """One notice to a department (SMS to a contact, or a webhook delivery), written in the transaction of
    what caused it and sent by a job after commit. `key` makes a step's notice exist once."""

    __tablename__ = "department_notice"
    __table_args__ = (Index("ix_department_notice_state", "state", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=128, unique=True)  # e.g. "dispatch:<event id>:sms:<contact id>"
    department_code: str = Field(max_length=32, index=True)
    case_id: int | None = Field(default=None, foreign_key="case.id", index=True)
    channel: str = Field(max_length=8)  # sms | webhook
    target: str = Field(max_length=500)  # contact id for sms, url for webhook (no phone numbers here)
    event: str = Field(max_length=32)  # dispatch | sla_warning | urge | escalate_yellow | …
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    state: str = Field(default=NoticeState.PENDING.value, max_length=8)
    attempts: int = 0
    last_error: str | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    sent_at: datetime | None = ts_column(nullable=True)


# --- rule sets and the decisions they made ------------------------------------------------------------


class RuleSetState(StrEnum):
    DRAFT = "draft"  # being edited; routes nothing (a back-test may run it)
    PUBLISHED = "published"  # has a version; the newest published one routes


RULE_SET_DRAFT_SQL = "state = 'draft'"


class RuleSet(SQLModel, table=True):
    """One version of the routing rules, or a draft of the next. Published versions never change: a
    roll-back publishes a copy of an old one as a new version (FixMyStreet's contacts history). `settings`:
    the default grade and the department gate's minimum confidence (`routing.rules.RuleSetSpec`)."""

    __tablename__ = "rule_set"
    __table_args__ = (
        # One shared draft: a second one could only be made by a race, and would be edited by nobody.
        Index(
            "uq_rule_set_one_draft",
            "state",
            unique=True,
            postgresql_where=text(RULE_SET_DRAFT_SQL),
            sqlite_where=text(RULE_SET_DRAFT_SQL),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    version: int | None = Field(default=None, unique=True)  # None while a draft
    state: str = Field(default=RuleSetState.DRAFT.value, max_length=16, index=True)
    based_on: int | None = None  # the version a draft (or a roll-back) started from
    settings: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    note: str = Field(default="", max_length=500)
    created_by: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    published_by: str | None = Field(default=None, max_length=64)
    published_at: datetime | None = ts_column(nullable=True)


class RuleRow(SQLModel, table=True):
    """One rule of one rule set, at its position (1 is tried first). `key` is the rule's identity across
    versions (hits per day, diffs); `conditions` and `actions` are `routing.conditions` / `RuleActions` JSON."""

    __tablename__ = "routing_rule"
    __table_args__ = (
        UniqueConstraint("rule_set_id", "key", name="uq_routing_rule_set_key"),
        Index("ix_routing_rule_set_position", "rule_set_id", "position"),
    )

    id: int | None = Field(default=None, primary_key=True)
    rule_set_id: int = Field(foreign_key="rule_set.id")
    position: int
    key: str = Field(max_length=64)
    name: str = Field(max_length=60)
    state: str = Field(default="active", max_length=16)  # a routing.rules.RuleState
    expires_on: date | None = None
    conditions: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    actions: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class DecisionKind(StrEnum):
    ROUTE = "route"  # the pipeline routed a new case (or one after 核查)
    CONFIRM = "confirm"  # an agent confirmed or corrected a held case, the rules routed it again
    REASSIGN = "reassign"  # a supervisor sent it to another department by hand (no rule)


class DecisionRecord(SQLModel, table=True):
    """Why a case went where it went: the rule-set version and rule that matched, the inputs the rules saw,
    the outcome, the rules above that did not match with the reason, shadow rules that would have matched.
    Written in the transaction of the routing; a back-test replays `inputs` against a draft."""

    __tablename__ = "routing_decision"
    __table_args__ = (
        Index("ix_routing_decision_case_at", "case_id", "at"),
        Index("ix_routing_decision_rule_at", "rule_key", "at"),  # each rule's hits per day
        Index("ix_routing_decision_at", "at"),  # the back-test's last N days
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id")
    at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    kind: str = Field(default=DecisionKind.ROUTE.value, max_length=16)
    actor: str = Field(default="system", max_length=64)
    rule_set_version: int | None = None
    rule_key: str | None = Field(default=None, max_length=64)
    rule_name: str | None = Field(default=None, max_length=60)
    rule_position: int | None = None
    department_code: str | None = Field(default=None, max_length=32)
    grade: str = Field(default="normal", max_length=16)
    held: bool = False  # the case waited for an agent after this decision
    confidence: float | None = None  # the probability that the department is right
    inputs: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    outcome: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # [{"position", "key", "name", "reason"}] of the rules above the match; hold reasons under outcome.
    skipped: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    reasons: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class ShadowHit(SQLModel, table=True):
    """A shadow-mode rule that matched a routed case: what it would have done (it did nothing). Counted per
    rule in the editor."""

    __tablename__ = "routing_shadow_hit"
    __table_args__ = (Index("ix_routing_shadow_hit_rule_at", "rule_key", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    decision_id: int = Field(foreign_key="routing_decision.id", index=True)
    case_id: int = Field(foreign_key="case.id")
    rule_set_version: int | None = None
    rule_key: str = Field(max_length=64)
    at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    would: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


HOTSPOT_OPEN_SQL = "ended_at IS NULL"


class HotspotEpisode(SQLModel, table=True):
    """A run of sweeps in which one category in one grid tested as a hotspot (`routing.hotspots`). At most
    one open episode per (grid, category) — the partial unique index — so the sweep that inserts it first
    is the one that tells the supervisors; it ends when the pair has not tested hot for a whole window."""

    __tablename__ = "hotspot_episode"
    __table_args__ = (
        Index(
            "uq_hotspot_episode_open",
            "grid_code",
            "category_code",
            unique=True,
            postgresql_where=text(HOTSPOT_OPEN_SQL),
            sqlite_where=text(HOTSPOT_OPEN_SQL),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    grid_code: str = Field(max_length=15)
    category_code: str = Field(max_length=16)
    started_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    last_seen_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    ended_at: datetime | None = ts_column(nullable=True, index=True)
    count: int = 0  # reports in the window when it last tested hot
    expected: float = 0.0  # what the baseline expects in a window
    p_value: float = 1.0
    notified_at: datetime | None = ts_column(nullable=True)  # the supervisors' SMS went out (or nobody to tell)
    sms_sent: int = 0
