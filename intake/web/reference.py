"""Reference data the form offers: categories (common ones first, search by name) and street/community.

Names come from the kernel's one lookup (`cases.reference.reference_names`); a search, and the check of
what the form sent back, ask the database."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from cases.models import Category, Grid
from cases.reference import reference_names, short_category_name
from cases.sanitize import clean_text, has_unsafe

# What residents report most on 12319 lines; shown as one-tap choices. Codes absent from the
# taxonomy are skipped, so a city with a different table loses chips, not the form.
COMMON_CODES = ["06010", "06042", "09006", "09009", "06013", "01037", "01023", "06028", "07001", "06027"]
SEARCH_LIMIT = 12


@dataclass(frozen=True)
class Choice:
    code: str
    name: str


def common_categories() -> list[Choice]:
    """The one-tap choices, with the short names residents tap (路灯, not 路灯异常)."""
    names = reference_names()
    return [Choice(c, short_category_name(name)) for c in COMMON_CODES if (name := names.category(c, active_only=True))]


def search_categories(session: Session, q: str) -> list[Choice]:
    q = clean_text(q).strip()
    if not q:
        return []
    rows = session.exec(
        select(Category)
        .where(Category.kind == "事件", Category.active, col(Category.name).contains(q))
        .order_by(col(Category.code))
        .limit(SEARCH_LIMIT)
    ).all()
    return [Choice(r.code, r.name) for r in rows]


def is_category(session: Session, code: str) -> bool:
    """Whether the form's category is a matter of the taxonomy."""
    if has_unsafe(code):
        return False
    return session.exec(select(Category.code).where(Category.kind == "事件", Category.code == code)).first() is not None


@dataclass(frozen=True)
class Community:
    code: str
    street: str
    name: str


def communities(session: Session) -> dict[str, list[Community]]:
    """Street → its communities, in code order (for an <optgroup> per street)."""
    out: dict[str, list[Community]] = {}
    seen: set[str] = set()
    for g in session.exec(select(Grid).order_by(col(Grid.code))).all():
        if g.community_code in seen:
            continue
        seen.add(g.community_code)
        out.setdefault(g.street, []).append(Community(g.community_code, g.street, g.community))
    return out


def community(session: Session, code: str) -> Community | None:
    if has_unsafe(code):
        return None
    g = session.exec(select(Grid).where(Grid.community_code == code)).first()
    return Community(g.community_code, g.street, g.community) if g else None
