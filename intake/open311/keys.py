"""Open311 API keys: shown once at creation, stored only as a SHA-256 hash.

Keys are 32 random bytes, so an unsalted fast hash is enough (nobody can brute-force 256 bits) and lets
us look a key up by its hash in one indexed query.
"""

from __future__ import annotations

import hashlib
import secrets

from sqlmodel import Session, col, select

from cases.models import ApiKey, utcnow

KEY_PREFIX = "o311_"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create_key(session: Session, name: str) -> tuple[ApiKey, str]:
    """Create and commit a key. Returns the row and the plain key (never stored)."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(name=name, key_hash=hash_key(key), prefix=key[:12])
    session.add(row)
    session.commit()
    return row, key


def list_keys(session: Session) -> list[ApiKey]:
    return list(session.exec(select(ApiKey).order_by(col(ApiKey.id))))


def revoke_key(session: Session, ident: str) -> ApiKey | None:
    """Revoke by id or by the shown prefix."""
    stmt = select(ApiKey).where(ApiKey.id == int(ident)) if ident.isdigit() else select(ApiKey).where(
        ApiKey.prefix == ident
    )
    row = session.exec(stmt).first()
    if row is None:
        return None
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.add(row)
        session.commit()
    return row


def check_key(session: Session, key: str | None) -> ApiKey | None:
    """The active key row for this key, or None. Does not commit."""
    if not key:
        return None
    row = session.exec(select(ApiKey).where(ApiKey.key_hash == hash_key(key.strip()))).first()
    if row is None or row.revoked_at is not None:
        return None
    row.last_used_at = utcnow()
    session.add(row)
    return row
