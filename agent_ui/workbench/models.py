"""Tables of the workbench: who is working on which queue item right now."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from cases.models import UTCDateTime, utcnow


class WorkClaim(SQLModel, table=True):
    """An agent has opened a queue item: others see who is on it until the claim expires (or is released),
    so two agents never work the same report. `item` names the thing, e.g. `case:123` or `report:45`."""

    __tablename__ = "work_claim"

    item: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="user_account.id", index=True)
    claimed_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
