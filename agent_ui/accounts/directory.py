"""Who an audit actor is, for pages: `agent:li` → 李明 (the account's display name). Reads only."""

from __future__ import annotations

from collections.abc import Iterable

from sqlmodel import Session, col, select

from agent_ui.accounts.models import User
from agent_ui.accounts.roles import ACTOR_KIND

PEOPLE_KINDS = frozenset(ACTOR_KIND.values())


def display_names(session: Session, actors: Iterable[str]) -> dict[str, str]:
    """Display names of the people among `actors` (one query by the username index), by actor."""
    wanted: dict[str, list[str]] = {}
    for actor in set(actors):
        kind, _, username = actor.partition(":")
        if kind in PEOPLE_KINDS and username:
            wanted.setdefault(username, []).append(actor)
    if not wanted:
        return {}
    rows = session.exec(
        select(User.username, User.display_name).where(col(User.username).in_(list(wanted)[:200]))
    ).all()
    return {actor: display or username for username, display in rows for actor in wanted.get(username, [])}
