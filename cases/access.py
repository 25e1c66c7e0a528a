"""Who may read which cases, as a filter in the query itself (never a template that hides rows).

The kernel knows nothing of accounts: the people's layer (agent_ui) turns a signed-in user into a
`Reader`, and every read model that lists or fetches cases for a person starts from `readable_cases`."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import false
from sqlmodel import col, select

from cases.models import Case


class Reach(StrEnum):
    ALL = "all"  # the hotline's agents and supervisors see every case
    DEPARTMENT = "department"  # a department's staff: the cases dispatched to it
    GRIDS = "grids"  # a grid worker: the cases in their grids


@dataclass(frozen=True)
class Reader:
    reach: Reach
    department_code: str | None = None
    grids: tuple[str, ...] = ()


EVERYONE = Reader(Reach.ALL)


def scope_cases(query: Any, reader: Reader) -> Any:
    """`query` (a select over Case, maybe joined) narrowed to what `reader` may see."""
    if reader.reach == Reach.ALL:
        return query
    if reader.reach == Reach.DEPARTMENT:
        if not reader.department_code:
            return query.where(false())
        return query.where(col(Case.department_code) == reader.department_code)
    if not reader.grids:
        return query.where(false())
    return query.where(col(Case.grid_code).in_(reader.grids))


def readable_cases(reader: Reader) -> Any:
    return scope_cases(select(Case), reader)
