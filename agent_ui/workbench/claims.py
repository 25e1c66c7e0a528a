"""Who is working on which queue item: claims that expire, so two agents never work the same report.

`claim` is one statement: INSERT … ON CONFLICT (item) DO UPDATE … WHERE the claim there has expired or
is the caller's own. Of two agents racing for a free item exactly one row write wins (PostgreSQL makes
the second INSERT wait for the first transaction and then re-checks the WHERE against its row; SQLite
has one writer at a time); the loser gets nothing back and reads the winner's claim. Use cases flush
only: the caller commits.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, delete
from sqlalchemy import select as sa_select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col

from agent_ui.accounts.models import User
from agent_ui.settings import console_settings
from agent_ui.workbench.models import WorkClaim

FORGET_AFTER = timedelta(hours=1)  # expired claims are deleted this long after they ran out


@dataclass(frozen=True)
class Claim:
    item: str
    user_id: int
    display_name: str
    claimed_at: datetime
    expires_at: datetime

    def is_mine(self, user: User) -> bool:
        return self.user_id == user.id


def _insert(session: Session) -> type[postgresql.Insert] | type[sqlite.Insert]:
    name = session.get_bind().dialect.name
    return postgresql.Insert if name == "postgresql" else sqlite.Insert


def _upsert(session: Session, item: str, user: User, now: datetime, expires: datetime) -> bool:
    table = WorkClaim.__table__  # type: ignore[attr-defined]
    stmt = _insert(session)(table).values(item=item, user_id=user.id, claimed_at=now, expires_at=expires)
    mine_and_live = (table.c.user_id == user.id) & (table.c.expires_at > now)
    upsert = stmt.on_conflict_do_update(
        index_elements=[table.c.item],
        set_={
            "user_id": stmt.excluded.user_id,
            # Renewing keeps when the agent started; taking over a lapsed claim starts afresh.
            "claimed_at": case((mine_and_live, table.c.claimed_at), else_=stmt.excluded.claimed_at),
            "expires_at": stmt.excluded.expires_at,
        },
        where=(table.c.expires_at <= now) | (table.c.user_id == user.id),
    ).returning(table.c.user_id)
    return session.execute(upsert).first() is not None


def claim(session: Session, item: str, user: User, now: datetime, seconds: int | None = None) -> Claim:
    """Claim (or renew) `item` for `user` until now + `seconds` (HOTLINE_CLAIM_SECONDS). Returns the claim
    that holds afterwards: the user's own, or another agent's live one (then nothing changed)."""
    assert user.id is not None
    expires = now + timedelta(seconds=console_settings().claim_seconds if seconds is None else seconds)
    session.execute(delete(WorkClaim).where(col(WorkClaim.expires_at) < now - FORGET_AFTER))
    for _ in range(3):  # the other claim may lapse or be released between our upsert and our read
        if _upsert(session, item, user, now, expires):
            session.flush()
            held = live_claims(session, [item], now).get(item)
            assert held is not None
            return held
        held = live_claims(session, [item], now).get(item)
        if held is not None:
            return held
    raise RuntimeError(f"claim of {item} neither won nor held by anyone")


def renew(session: Session, item: str, user: User, now: datetime) -> Claim:
    """The same as `claim`: a live claim of the user's own is extended, a lapsed one taken again."""
    return claim(session, item, user, now)


def release(session: Session, item: str, user: User) -> bool:
    """Give up the user's claim on `item` (another agent's claim stays). True when one was released."""
    result = session.execute(delete(WorkClaim).where(col(WorkClaim.item) == item, col(WorkClaim.user_id) == user.id))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def live_claims(session: Session, items: Iterable[str], now: datetime) -> dict[str, Claim]:
    """The live claims on `items`, by item, with the claimant's name."""
    wanted = sorted(set(items))
    if not wanted:
        return {}
    # Columns, not WorkClaim rows: the session may hold a row from before our own upsert.
    rows = session.execute(
        sa_select(
            col(WorkClaim.item),
            col(WorkClaim.user_id),
            col(User.display_name),
            col(User.username),
            col(WorkClaim.claimed_at),
            col(WorkClaim.expires_at),
        )
        .join(User, col(User.id) == col(WorkClaim.user_id))
        .where(col(WorkClaim.item).in_(wanted), col(WorkClaim.expires_at) > now)
    ).all()
    return {
        item: Claim(item, user_id, display or username, claimed_at, expires_at)
        for item, user_id, display, username, claimed_at, expires_at in rows
    }
