"""Read model of the supervisors' 督办 list: open cases with a yellow or red card, and overdue ones (催办
sent, no card yet), red first, each with its running clock and the ladder's last step. Reads only;
every query starts from `cases.access.scope_cases`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import case as sql_case
from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from cases.access import Reader, scope_cases
from cases.lifecycle import TERMINAL
from cases.models import Case
from cases.reference import reference_names
from routing.escalation import ACTION_ZH
from routing.ladder import current_ladder
from routing.models import EscalationStep, SlaClock

FILTERS = {"all": "全部", "red": "红牌督办", "yellow": "黄牌督办", "overdue": "超时未督办"}
CARD_ZH = {"red": "红牌", "yellow": "黄牌"}
LIMIT = 200


@dataclass
class SupervisedRow:
    case: Case
    clock: SlaClock | None = None  # the running clock, if any
    last_step: EscalationStep | None = None
    department_name: str | None = None
    category_name: str | None = None
    last_step_label: str | None = None  # what the ladder's last step did, in Chinese

    @property
    def due_at(self) -> datetime | None:
        return self.clock.due_at if self.clock is not None else None


@dataclass
class SupervisionPage:
    rows: list[SupervisedRow]
    counts: dict[str, int] = field(default_factory=dict)  # filter → cases
    chosen: str = "all"


def _open_flagged(query: Any, reader: Reader) -> Any:
    """`query` (over Case) narrowed to open cases with a card or overdue, that `reader` may see."""
    flagged = or_(col(Case.supervision).is_not(None), col(Case.overdue).is_(True))
    return scope_cases(query.where(col(Case.status).notin_([s.value for s in TERMINAL]), flagged), reader)


def _filtered(query: Any, chosen: str) -> Any:
    if chosen in ("red", "yellow"):
        return query.where(Case.supervision == chosen)
    if chosen == "overdue":
        return query.where(col(Case.supervision).is_(None))
    return query


def counts(session: Session, reader: Reader) -> dict[str, int]:
    query = _open_flagged(select(col(Case.supervision), func.count()), reader).group_by(col(Case.supervision))
    per = {card or "overdue": int(n) for card, n in session.exec(query)}
    return {
        "all": sum(per.values()),
        "red": per.get("red", 0),
        "yellow": per.get("yellow", 0),
        "overdue": per.get("overdue", 0),
    }


def _clocks(session: Session, case_ids: list[int]) -> dict[int, SlaClock]:
    rows = session.exec(
        select(SlaClock)
        .where(col(SlaClock.case_id).in_(case_ids), col(SlaClock.stopped_at).is_(None))
        .order_by(col(SlaClock.id))
    )
    return {c.case_id: c for c in rows}


def _last_steps(session: Session, case_ids: list[int]) -> dict[int, EscalationStep]:
    rows = session.exec(
        select(EscalationStep)
        .where(col(EscalationStep.case_id).in_(case_ids))
        .order_by(col(EscalationStep.at), col(EscalationStep.id))
    )
    return {s.case_id: s for s in rows}


def _label(labels: dict[str, str], step: EscalationStep | None) -> str | None:
    return labels.get(step.step, step.step) if step is not None else None


def step_labels() -> dict[str, str]:
    """Ladder step name → what it does, in Chinese (预警, 催办, 黄牌督办 …)."""
    return {step.name: ACTION_ZH[step.action] for step in current_ladder().steps}


def supervision_page(session: Session, reader: Reader, chosen: str = "all", limit: int = LIMIT) -> SupervisionPage:
    """The list under filter `chosen` (one of FILTERS; anything else is "all"): red cards, then yellow,
    then overdue, the longest waiting first."""
    chosen = chosen if chosen in FILTERS else "all"
    rank = sql_case((col(Case.supervision) == "red", 0), (col(Case.supervision) == "yellow", 1), else_=2)
    query = (
        _filtered(_open_flagged(select(Case), reader), chosen)
        .order_by(rank, col(Case.updated_at), col(Case.id))
        .limit(limit)
    )
    cases = list(session.exec(query))
    ids = [c.id for c in cases if c.id is not None]
    clocks, steps = (_clocks(session, ids), _last_steps(session, ids)) if ids else ({}, {})
    names = reference_names()
    labels = step_labels()
    rows = [
        SupervisedRow(
            case=c,
            clock=clocks.get(c.id or 0),
            last_step=steps.get(c.id or 0),
            department_name=names.department(c.department_code),
            category_name=names.category(c.category_code),
            last_step_label=_label(labels, steps.get(c.id or 0)),
        )
        for c in cases
    ]
    return SupervisionPage(rows=rows, counts=counts(session, reader), chosen=chosen)
