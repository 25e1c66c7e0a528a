"""API keys of machine clients (the internal API, Open311): shown once at creation, stored only as a
SHA-256 hash, each with the scopes it may use.

Keys are 32 random bytes, so an unsalted fast hash is enough (nobody can brute-force 256 bits) and lets
us look a key up by its hash in one indexed query.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Iterable
from datetime import timedelta

from sqlmodel import Session, col, select

from cases import providers
from cases.db import session_scope
from cases.models import utcnow
from intake.models import ApiKey

KEY_PREFIX = "hk_"

# What each scope allows; the README's "API keys" section says the same in prose.
SCOPES: dict[str, str] = {
    "intake": "POST /api/v1/reports (channel api, external ids in the key's own namespace)",
    "routing": "with intake: send routing hints (category_code, grade, needs_review, link_case_id, ...)",
    "read": "GET /api/v1/reports/{id} and /api/v1/cases/{number}",
    "open311": "POST /open311/v2/requests (api_key)",
}
# A key made without --scope: what `hotline apikeys create NAME` always made before scopes existed.
DEFAULT_SCOPES: tuple[str, ...] = ("open311",)


class UnknownScope(ValueError):
    pass


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create_key(session: Session, name: str, scopes: Iterable[str] = DEFAULT_SCOPES) -> tuple[ApiKey, str]:
    """Create a key (the caller commits). Returns the row and the plain key (never stored)."""
    wanted = sorted(set(scopes))
    unknown = [s for s in wanted if s not in SCOPES]
    if unknown or not wanted:
        raise UnknownScope(f"unknown scope(s) {unknown}; known: {', '.join(SCOPES)}")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(name=name, key_hash=hash_key(key), prefix=key[:12], scopes=wanted)
    session.add(row)
    session.flush()
    return row, key


def list_keys(session: Session) -> list[ApiKey]:
    return list(session.exec(select(ApiKey).order_by(col(ApiKey.id))))


def revoke_key(session: Session, ident: str) -> ApiKey | None:
    """Revoke by id or by the shown prefix."""
    stmt = (
        select(ApiKey).where(ApiKey.id == int(ident))
        if ident.isdigit() and len(ident) < 10
        else select(ApiKey).where(ApiKey.prefix == ident)
    )
    row = session.exec(stmt).first()
    if row is None:
        return None
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.add(row)
    forget_cached_keys()
    return row


def check_key(session: Session, key: str | None) -> ApiKey | None:
    """The active key row for this key, or None. Does not commit."""
    if not key or len(key) > 200:
        return None
    row = session.exec(select(ApiKey).where(ApiKey.key_hash == hash_key(key.strip()))).first()
    if row is None or row.revoked_at is not None:
        return None
    now = utcnow()
    # Roughly when it was last used is enough: a write per request would serialise readers on SQLite.
    if row.last_used_at is None or now - row.last_used_at > timedelta(minutes=1):
        row.last_used_at = now
        session.add(row)
    return row


# The JSON API looks a key up once per KEY_CACHE_SECONDS per process, not on every request (one session
# and three round trips less per report, docs/benchmarks.md "Intake"). A key revoked in this process
# stops at once (`revoke_key` forgets them); revoked from another process (the CLI, another web node),
# within this many seconds.
KEY_CACHE_SECONDS = 1.0


def _key_cache() -> dict[str, tuple[float, ApiKey]]:
    return {}


KEY_CACHE: providers.Key[dict[str, tuple[float, ApiKey]]] = providers.Key("API keys looked up", _key_cache)


def cached_key(key: str | None) -> ApiKey | None:
    """The key's row if this process looked it up less than KEY_CACHE_SECONDS ago; never reads the database."""
    if not key or len(key) > 200:
        return None
    hit = providers.get(KEY_CACHE).get(hash_key(key.strip()))
    return hit[1] if hit is not None and time.monotonic() - hit[0] < KEY_CACHE_SECONDS else None


def check_key_cached(key: str | None) -> ApiKey | None:
    """`check_key` (in a session of its own, committing last_used_at) at most once a KEY_CACHE_SECONDS per
    key; unknown or revoked keys are looked up every time."""
    if not key or len(key) > 200:
        return None
    cache = providers.get(KEY_CACHE)
    digest = hash_key(key.strip())
    hit = cache.get(digest)
    now = time.monotonic()
    if hit is not None and now - hit[0] < KEY_CACHE_SECONDS:
        return hit[1]
    with session_scope() as session:
        row = check_key(session, key)
    if row is None:
        cache.pop(digest, None)
        return None
    if len(cache) > 10_000:  # keys come and go rarely; a flood of made-up ones is never cached
        cache.clear()
    cache[digest] = (now, row)
    return row


def forget_cached_keys() -> None:
    providers.get(KEY_CACHE).clear()


def has_scope(row: ApiKey, scope: str) -> bool:
    return scope in (row.scopes or [])
