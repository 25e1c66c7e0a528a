"""The reference data in the database (taxonomy, grids, departments): the names every surface shows, and
checks of agent and operator input, so a typo is refused with a message naming it instead of becoming a
case nobody handles.

Case categories are matter codes (kind 事件): a component (部件) shares its code with the matter
"<component>异常", so a code is looked up as a matter, never as a component.

Names are read through `reference_names()`: one snapshot per process, looked at again every
`HOTLINE_REFERENCE_REFRESH_SECONDS` and rebuilt when a city edited a name (the one refresh policy,
`cases.providers.Refreshing`). Checks of what a person typed read the database itself.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, select

from cases import providers
from cases.db import session_scope
from cases.models import Category, Department, Grid
from cases.settings import kernel_settings

MATTER = "事件"
ACTOR_KINDS = ("agent", "supervisor", "dept", "grid", "admin", "system", "resident")
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


@dataclass(frozen=True)
class Named:
    name: str
    active: bool = True


@dataclass(frozen=True)
class GridNames:
    name: str
    places: tuple[str, ...]


@dataclass(frozen=True)
class ReferenceNames:
    """Names by code: matter categories, departments, grids (with the place names a caller may say)."""

    categories: Mapping[str, Named]
    departments: Mapping[str, Named]
    grids: Mapping[str, GridNames]

    def category(self, code: str | None, active_only: bool = False) -> str | None:
        """The taxonomy's full name of a matter (事件), e.g. 路灯异常."""
        found = self.categories.get(code or "")
        return found.name if found is not None and (found.active or not active_only) else None

    def department(self, code: str | None) -> str | None:
        found = self.departments.get(code or "")
        return found.name if found is not None else None

    def grid(self, code: str | None) -> str | None:
        found = self.grids.get(code or "")
        return found.name if found is not None else None


def short_category_name(name: str) -> str:
    """A matter's name where a resident hears it or taps it (the IVR's read-back, its SMS, the web form's
    one-tap choices, Open311's keywords): 路灯 for 路灯异常. The taxonomy names a broken component
    "<component>异常"; a sentence ("您反映的是路灯问题") or a button does not need the suffix. Written
    surfaces that name the case (track page, search results, the API, Open311's service_name) show the
    taxonomy's name unchanged."""
    return name.removesuffix("异常")


_Rows = tuple[list[tuple[str, str, bool]], list[tuple[str, str, bool]], list[tuple[str, str, tuple[str, ...]]]]


def _name_rows(session: Session) -> _Rows:
    cats = session.exec(select(Category.code, Category.name, Category.active).where(Category.kind == MATTER)).all()
    depts = session.exec(select(Department.code, Department.name, Department.active)).all()
    grids = session.exec(select(Grid.code, Grid.name, Grid.places)).all()
    return (
        sorted((c, n, bool(a)) for c, n, a in cats),
        sorted((c, n, bool(a)) for c, n, a in depts),
        sorted((c, n, tuple(p)) for c, n, p in grids),
    )


def load_reference_names(session: Session) -> ReferenceNames:
    cats, depts, grids = _name_rows(session)
    return ReferenceNames(
        categories={code: Named(name, active) for code, name, active in cats},
        departments={code: Named(name, active) for code, name, active in depts},
        grids={code: GridNames(name, places) for code, name, places in grids},
    )


def reference_digest(session: Session) -> str:
    """Equal digests, same names: three small queries over code, name, active (and a grid's places)."""
    return hashlib.sha256(repr(_name_rows(session)).encode()).hexdigest()


def _build_names() -> ReferenceNames:
    with session_scope() as s:
        return load_reference_names(s)


def _current_digest() -> str | None:
    try:
        with session_scope() as s:
            return reference_digest(s)
    except SQLAlchemyError:
        return None  # the database is away: keep the names in use


def _refreshing() -> providers.Refreshing[ReferenceNames]:
    return providers.Refreshing(
        "reference names", _build_names, _current_digest, lambda: kernel_settings().reference_refresh_seconds
    )


NAMES = providers.Key("reference names", _refreshing)


def reference_names() -> ReferenceNames:
    """This process's names of categories, departments and grids (see the module doc for when it looks again)."""
    return providers.get(NAMES).get()


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
