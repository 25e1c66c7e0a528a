"""Tables of people's accounts: users, their server-side sessions (the embedded default's store; Redis
holds them when configured) and the login audit."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index
from sqlmodel import Field, SQLModel

from cases.models import UTCDateTime, json_column, ts_column, utcnow


class User(SQLModel, table=True):
    """A person who signs in. Only an argon2 hash of the password is stored."""

    __tablename__ = "user_account"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=32, unique=True, index=True)
    display_name: str = Field(default="", max_length=50)
    role: str = Field(max_length=16, index=True)
    department_code: str | None = Field(default=None, max_length=32, foreign_key="department.code", index=True)
    grids: list[str] = json_column(list)
    # The agent's own phone (desk or mobile), rung when they take the next caller or call a resident back.
    phone: str | None = Field(default=None, max_length=32)
    password_hash: str = Field(max_length=200)
    active: bool = True
    failed_logins: int = 0
    locked_until: datetime | None = ts_column(nullable=True)
    password_changed_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    last_login_at: datetime | None = ts_column(nullable=True)


class WebSession(SQLModel, table=True):
    """A signed-in browser. The cookie holds a random token; only its SHA-256 is stored."""

    __tablename__ = "web_session"

    token_hash: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="user_account.id", index=True)
    csrf_token: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    last_seen_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    ip: str | None = Field(default=None, max_length=64)


class LoginAudit(SQLModel, table=True):
    """Every sign-in attempt, lock-out and sign-out, with time and address. Append-only."""

    __tablename__ = "login_audit"
    __table_args__ = (Index("ix_login_audit_at", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    username: str = Field(max_length=32, index=True)
    user_id: int | None = Field(default=None, index=True)
    event: str = Field(max_length=16)
    ip: str | None = Field(default=None, max_length=64)
    user_agent: str | None = Field(default=None, max_length=200)
