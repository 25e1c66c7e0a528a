"""What the IVR speaks and listens for, from the kernel's reference names: category names, place names,
speech hints."""

from __future__ import annotations

from cases.reference import reference_names, short_category_name


def category_names() -> dict[str, str]:
    """Matter code → the name a caller hears (路灯 for 路灯异常)."""
    return {code: short_category_name(c.name) for code, c in reference_names().categories.items()}


def speech_hints() -> list[str]:
    """Speech <Gather> hints: event names and place names, short phrases first (Twilio caps the list)."""
    names = reference_names()
    events = sorted({short_category_name(c.name) for c in names.categories.values()}, key=len)
    places = sorted({p for g in names.grids.values() for p in g.places}, key=len)
    return [h for h in places + events if len(h) <= 20][:450]


def place_in(text: str, grid_code: str | None) -> str | None:
    """The place the caller named: a place of the matched grid mentioned in the text, else any mentioned
    place, else None (the read-back then leaves the place out rather than guess)."""
    grids = reference_names().grids
    own = grids[grid_code].places if grid_code is not None and grid_code in grids else ()
    candidates = [*own, *(p for g in grids.values() for p in g.places)]
    for place in sorted(candidates, key=len, reverse=True):
        if place and place in text:
            return place
    return None
