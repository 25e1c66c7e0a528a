"""Tables of the classifier: the examples people labelled and the trained model versions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from cases.models import UTCDateTime, json_column, utcnow


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
