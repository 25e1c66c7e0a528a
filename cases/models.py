"""Tables of the domain kernel: the report, the case, its events, the case-number counter and the reference
tables. Each other package keeps its own tables in its `models.py`, on the same SQLModel.metadata."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Index, UniqueConstraint, text
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from cases.lifecycle import TERMINAL, CaseStatus
from cases.states import ReportState


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


# Predicates of the work queue's partial indexes, written as the queries render them (routing.work_queue).
REPORT_WITHOUT_CASE = "case_id IS NULL AND processing_status IN ('pending', 'processing', 'failed')"
CASE_HELD_PG = "needs_review IS true AND status = 'registered'"
CASE_HELD_SQLITE = "needs_review IS 1 AND status = 'registered'"


class Report(SQLModel, table=True):
    """One thing a resident (or a camera) said, exactly as it arrived. Stored before it is acknowledged."""

    __tablename__ = "report"
    __table_args__ = (
        UniqueConstraint("channel", "external_id", name="uq_report_channel_external_id"),
        # The agents' queue: reports still without a case (failed or stuck), oldest first.
        Index(
            "ix_report_without_case",
            "received_at",
            postgresql_where=text(REPORT_WITHOUT_CASE),
            sqlite_where=text(REPORT_WITHOUT_CASE),
        ),
    )

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
    processing_status: str = Field(default=ReportState.PENDING.value, max_length=16, index=True)
    attempts: int = 0
    last_error: str | None = None
    last_attempt_at: datetime | None = ts_column(nullable=True)


# Open cases (not closed, rejected or merged), as a partial index's predicate: a query that means to use
# the index says exactly this (`cases.models.OPEN_CASE_SQL`), with the values written out.
OPEN_CASE_SQL = "status NOT IN (" + ", ".join(f"'{s.value}'" for s in sorted(TERMINAL)) + ")"
CLOSED_CASE_SQL = "status = 'closed'"
# Open cases with a 督办 card or past a deadline (the supervisors' 督办 list and its counts).
FLAGGED_CASE_PG = OPEN_CASE_SQL + " AND (supervision IS NOT NULL OR overdue IS true)"
FLAGGED_CASE_SQLITE = OPEN_CASE_SQL + " AND (supervision IS NOT NULL OR overdue IS 1)"


class Case(SQLModel, table=True):
    """The unit of work that moves through 立案 → 派遣 → … → 结案."""

    __tablename__ = "case"
    __table_args__ = (
        # The agents' queue: held cases (needs_review, still 已立案), oldest first.
        Index(
            "ix_case_held_created",
            "created_at",
            postgresql_where=text(CASE_HELD_PG),
            sqlite_where=text(CASE_HELD_SQLITE),
        ),
        # Open cases of one matter in one grid, newest first (the console's possible duplicates): a few
        # rows however many cases the city has.
        Index(
            "ix_case_open_matter",
            "category_code",
            "grid_code",
            "created_at",
            postgresql_where=text(OPEN_CASE_SQL),
            sqlite_where=text(OPEN_CASE_SQL),
        ),
        # The 督办 list (routing.supervision): a few hundred rows however many cases are open.
        Index(
            "ix_case_flagged",
            "updated_at",
            postgresql_where=text(FLAGGED_CASE_PG),
            sqlite_where=text(FLAGGED_CASE_SQLITE),
        ),
        # Retention (intake.retention): cases closed before a cut-off, however many are open.
        Index(
            "ix_case_closed_at",
            "closed_at",
            postgresql_where=text(CLOSED_CASE_SQL),
            sqlite_where=text(CLOSED_CASE_SQL),
        ),
        # The dashboard's intake of a day (routing.dashboard.facts): cases by creation time.
        Index("ix_case_created_at", "created_at"),
        # Counts by grid and category over a span of days (the hotspot test's window and baseline): an
        # index-only range scan.
        Index("ix_case_created_grid_category", "created_at", "grid_code", "category_code"),
    )

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
    # 核查: a routing rule asked a grid worker to find the problem on site before 立案 (case stays 上报).
    needs_check: bool = False
    # The running clocks' deadlines, mirrored from routing's SlaClock rows for queues and pages:
    # 签收 (sign for, after 派遣), 办结 (handle, after 签收) and 核实 (verify, after 反馈).
    dispatch_deadline: datetime | None = ts_column(nullable=True)
    handle_deadline: datetime | None = ts_column(nullable=True, index=True)
    verify_deadline: datetime | None = ts_column(nullable=True)
    # The SLA policy (and its version) the current clocks were started with: a later edit never moves them.
    sla_policy_code: str | None = Field(default=None, max_length=64)
    sla_policy_version: int | None = None
    # Counters the department's figures and the ladder read (退单, 重开, 延期 granted).
    return_count: int = 0
    reopen_count: int = 0
    extension_count: int = 0
    overdue: bool = False  # a running clock passed its deadline (set by the escalation ladder's 100 % step)
    supervision: str | None = Field(default=None, max_length=8)  # 督办 card: yellow / red (the ladder)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    closed_at: datetime | None = ts_column(nullable=True)


class CaseEvent(SQLModel, table=True):
    """Append-only audit trail: every change to a case, who made it and why."""

    __tablename__ = "case_event"
    __table_args__ = (
        Index("ix_case_event_case_at", "case_id", "at"),
        # The dashboard's counts of one kind of move in a day (重开, 延期, ratings, 督办 cards).
        Index("ix_case_event_action_at", "action", "at"),
    )

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
