"""Reference data the IVR speaks and listens for: category names, place names, speech hints."""

from __future__ import annotations

import re
from functools import lru_cache

from sqlmodel import select

from cases.db import session_scope
from cases.models import Category, Grid


@lru_cache(maxsize=1)
def category_names() -> dict[str, str]:
    with session_scope() as s:
        rows = s.exec(select(Category.code, Category.name, Category.kind)).all()
    names: dict[str, str] = {}
    for code, name, _kind in sorted(rows, key=lambda r: r[2] != "事件"):  # an event name wins over a part
        names.setdefault(code, re.sub(r"异常$", "", name))
    return names


@lru_cache(maxsize=1)
def grid_places() -> dict[str, tuple[str, list[str]]]:
    """grid code → (grid name, place names)."""
    with session_scope() as s:
        return {g.code: (g.name, list(g.places)) for g in s.exec(select(Grid)).all()}


@lru_cache(maxsize=1)
def speech_hints() -> list[str]:
    """Speech <Gather> hints: event names and place names, short phrases first (Twilio caps the list)."""
    events = sorted(set(category_names().values()), key=len)
    places = sorted({p for _, ps in grid_places().values() for p in ps}, key=len)
    return [h for h in places + events if len(h) <= 20][:450]


def place_in(text: str, grid_code: str | None) -> str | None:
    """The place the caller named: a place of the matched grid mentioned in the text, else any mentioned
    place, else None (the read-back then leaves the place out rather than guess)."""
    grids = grid_places()
    candidates = grids.get(grid_code or "", ("", []))[1] + [p for _, ps in grids.values() for p in ps]
    for place in sorted(candidates, key=len, reverse=True):
        if place and place in text:
            return place
    return None


def reset() -> None:
    category_names.cache_clear()
    grid_places.cache_clear()
    speech_hints.cache_clear()
