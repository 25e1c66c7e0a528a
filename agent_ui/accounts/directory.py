"""Who an audit actor is, for pages: `agent:li` → 李明 (the account's display name); and who the supervisors
are reached at (their accounts' phones). Reads only."""

from __future__ import annotations

from collections.abc import Iterable

from sqlmodel import Session, col, select

from agent_ui.accounts.models import User
from agent_ui.accounts.roles import ACTOR_KIND
from cases.db import session_scope

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


def supervisor_phones() -> list[tuple[str, str]]:
    """Job SUPERVISOR_PHONES, run in-process (`cases.jobs.run_now`) by routing's hotspot SMS: (a stable key
    per person, phone) of every active supervisor with a phone on their account. Numbers are returned,
    never logged or queued."""
    with session_scope() as s:
        rows = s.exec(
            select(User.id, User.phone)
            .where(User.role == "supervisor", col(User.active).is_(True), col(User.phone).is_not(None))
            .order_by(col(User.id))
        ).all()
    return [(f"user:{uid}", phone) for uid, phone in rows if phone and phone.strip()]
