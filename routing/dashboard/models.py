"""The dashboard's aggregate tables: one row per local day × dimension × key, rebuilt whole for a day that
changed (`routing.dashboard.refresh`), and the refresh's own bookkeeping row."""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Field, SQLModel

from cases.models import ts_column


class DashIntakeDay(SQLModel, table=True):
    """Cases opened on `day` (city time) with `key` in `dimension` (channel, group, street, community,
    grid; see `routing.dashboard.facts.INTAKE_DIMENSIONS`)."""

    __tablename__ = "dash_intake_day"

    day: date = Field(primary_key=True)
    dimension: str = Field(primary_key=True, max_length=12)
    key: str = Field(primary_key=True, max_length=32)
    cases: int = 0


class DashRateDay(SQLModel, table=True):
    """The counters behind the 三率 (and 退单, 重开, 延期, cards) on `day` for `key` in `dimension`
    (department or street). Definitions: `routing.dashboard.rates.DEFINITIONS`."""

    __tablename__ = "dash_rate_day"

    day: date = Field(primary_key=True)
    dimension: str = Field(primary_key=True, max_length=12)
    key: str = Field(primary_key=True, max_length=32)
    dispatched: int = 0
    sign_met: int = 0
    sign_late: int = 0
    handle_met: int = 0
    handle_late: int = 0
    returned: int = 0
    reopened: int = 0
    extended: int = 0
    rated: int = 0
    satisfied: int = 0
    yellow: int = 0
    red: int = 0


class DashRefresh(SQLModel, table=True):
    """The one row the refresh locks: how far into the case events it has looked."""

    __tablename__ = "dash_refresh"

    id: int = Field(default=1, primary_key=True)
    last_event_id: int = 0
    refreshed_at: datetime | None = ts_column(nullable=True)
    days_refreshed: int = 0
