"""Model versions in the database: which trained model is active, and the list of all of them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from cases.models import utcnow
from classifiers.models import ModelVersion

SHIPPED = Path(__file__).parents[1] / "models" / "default"


def list_versions(session: Session) -> list[ModelVersion]:
    return list(session.exec(select(ModelVersion).order_by(col(ModelVersion.created_at))).all())


def active_version(session: Session) -> ModelVersion | None:
    return session.exec(select(ModelVersion).where(col(ModelVersion.active))).first()


def register(session: Session, version: str, path: Path, card: dict[str, Any], activate: bool) -> ModelVersion:
    metrics = card.get("metrics") or {}
    row = ModelVersion(
        version=version,
        path=str(path),
        card=card,
        macro_f1=metrics.get("macro_f1"),
        active=False,
        created_at=utcnow(),
    )
    session.add(row)
    session.flush()
    if activate:
        set_active(session, version)
    return row


def set_active(session: Session, version: str) -> ModelVersion:
    row = session.get(ModelVersion, version)
    if row is None:
        raise KeyError(version)
    for other in session.exec(select(ModelVersion).where(col(ModelVersion.active))).all():
        other.active = False
        session.add(other)
    row.active = True
    session.add(row)
    return row
