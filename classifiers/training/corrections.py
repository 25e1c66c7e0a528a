"""Agents' confirmations and corrections, kept as labelled examples for the next model."""

from __future__ import annotations

from sqlmodel import Session, col, select

from cases.models import utcnow
from classifiers.models import LabelledExample


def record_correction(
    session: Session,
    text: str,
    label: str,
    who: str,
    grid_code: str | None = None,
    source: str = "correction",
    case_id: int | None = None,
) -> LabelledExample:
    """Store what the agent decided; the caller commits with the rest of its transaction."""
    if not text.strip():
        raise ValueError("a labelled example needs text")
    row = LabelledExample(
        text=text, label=label, grid_code=grid_code, who=who, at=utcnow(), source=source, case_id=case_id
    )
    session.add(row)
    return row


def labelled_examples(session: Session) -> list[tuple[str, str]]:
    """(text, label) pairs; of several examples of one text the latest wins (an agent changed their mind)."""
    rows = session.exec(select(LabelledExample).order_by(col(LabelledExample.at))).all()
    latest = {r.text: r.label for r in rows}
    return list(latest.items())
