"""Checks of agent and operator input against the reference data in the database (taxonomy, grids,
departments), so a typo is refused with a message naming it instead of becoming a case nobody handles.

Case categories are matter codes (kind 事件): a component (部件) shares its code with the matter
"<component>异常", so a code is looked up as a matter, never as a component.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlmodel import Session, col, select

from cases.models import Category, Department, Grid

MATTER = "事件"
ACTOR_KINDS = ("agent", "dept", "grid", "system", "resident")
_ACTOR_KIND = re.compile(r"[a-z][a-z0-9_]{0,11}")
_ACTOR_NAME = re.compile(r"[\w.@-]{1,50}")
_ACTOR_NAME_INTERNAL = re.compile(r"[\w.@:-]{1,50}")


class InvalidInput(ValueError):
    """Input that names something that does not exist (or may not be used): the message says what, for a
    person, in one line."""


@dataclass(frozen=True)
class ReferenceCodes:
    """The codes a routing table may name (enabled matter categories, active departments)."""

    categories: frozenset[str]
    departments: frozenset[str]


def reference_codes(session: Session) -> ReferenceCodes:
    cats = session.exec(select(Category.code).where(Category.kind == MATTER, col(Category.active).is_(True))).all()
    depts = session.exec(select(Department.code).where(col(Department.active).is_(True))).all()
    return ReferenceCodes(frozenset(cats), frozenset(depts))


def check_category(session: Session, code: str) -> Category:
    """An enabled matter (事件) category of the taxonomy."""
    row = session.get(Category, (MATTER, code))
    if row is None:
        component = session.get(Category, ("部件", code))
        hint = " (that is a component code; a case takes a matter code)" if component is not None else ""
        raise InvalidInput(f"unknown category {code!r}: not a matter (事件) code of the taxonomy{hint}")
    if not row.active:
        raise InvalidInput(f"category {code} ({row.name}) is disabled")
    return row


def check_grid(session: Session, code: str) -> Grid:
    row = session.get(Grid, code)
    if row is None:
        raise InvalidInput(f"unknown grid {code!r}: not in the grid layer")
    return row


def check_department(session: Session, code: str) -> Department:
    row = session.get(Department, code)
    if row is None:
        raise InvalidInput(f"unknown department {code!r}: not in the department table")
    if not row.active:
        raise InvalidInput(f"department {code} ({row.name}) is inactive")
    return row


def actor_id(raw: str, default_kind: str = "agent", kinds: tuple[str, ...] | None = None) -> str:
    """`kind:name` as kept in the audit trail. A bare name gets `default_kind`; a name that already
    carries a kind keeps it, so `li` and `agent:li` are the same actor (never `agent:agent:li`).

    With `kinds` (what a person typed: the CLI, the console) the kind must be one of them and the name a
    plain one; without, any short lowercase kind and a name of the same characters plus ':' will do (the
    actors channels and jobs name themselves). Both fit the audit column (64 characters)."""
    value = raw.strip()
    kind, sep, name = value.partition(":")
    if not sep:
        kind, name = default_kind, value
    if kinds is not None and kind not in kinds:
        raise InvalidInput(f"unknown actor kind {kind!r} in {raw!r}: use one of {', '.join(kinds)}")
    if not _ACTOR_KIND.fullmatch(kind):
        raise InvalidInput(f"invalid actor kind {kind!r} in {raw!r}")
    if not (_ACTOR_NAME if kinds is not None else _ACTOR_NAME_INTERNAL).fullmatch(name):
        raise InvalidInput(f"invalid actor {raw!r}: a name of 1-50 letters, digits, '.', '_', '@' or '-'")
    return f"{kind}:{name}"
