"""Server-side sessions of signed-in people. The browser holds a random token in an HttpOnly cookie; the
store maps its SHA-256 to the user, the session's CSRF token and its times. The embedded default keeps
them in the database (table web_session); with HOTLINE_REDIS_URL set, in Redis, so any web node serves
any session and expiry costs nothing. Either way a session ends after `session_idle_minutes` unused or
`session_max_hours` after sign-in, at logout, and when the account is disabled or its password reset."""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from redis import Redis
from sqlalchemy import delete
from sqlmodel import Session, col

from agent_ui.accounts.models import WebSession
from agent_ui.settings import console_settings
from cases import providers
from cases.db import session_scope
from cases.models import utcnow
from cases.settings import kernel_settings

# Writing last-seen on every request would turn every page view into a write; this often is enough
# for an idle timeout counted in minutes.
TOUCH_EVERY = timedelta(seconds=60)


@dataclass(frozen=True)
class SessionRecord:
    user_id: int
    csrf_token: str
    created_at: datetime
    last_seen_at: datetime


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def _expired(record: SessionRecord, now: datetime) -> bool:
    settings = console_settings()
    return now - record.last_seen_at > timedelta(
        minutes=settings.session_idle_minutes
    ) or now - record.created_at > timedelta(hours=settings.session_max_hours)


class SessionStore(Protocol):
    def create(self, db: Session, user_id: int, ip: str | None) -> tuple[str, SessionRecord]: ...

    def load(self, db: Session, token: str) -> SessionRecord | None:
        """The live session for `token` (its last-seen renewed), or None: unknown, or ended now by age."""
        ...

    def delete(self, db: Session, token: str) -> None: ...

    def delete_for_user(self, db: Session, user_id: int) -> None: ...


class DatabaseSessionStore:
    def create(self, db: Session, user_id: int, ip: str | None) -> tuple[str, SessionRecord]:
        token, now = secrets.token_urlsafe(32), utcnow()
        row = WebSession(
            token_hash=token_hash(token),
            user_id=user_id,
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            last_seen_at=now,
            ip=ip,
        )
        _purge_idle(db, user_id, now)  # browsers the user left signed in and never came back to
        db.add(row)
        db.flush()
        return token, SessionRecord(user_id, row.csrf_token, now, now)

    def load(self, db: Session, token: str) -> SessionRecord | None:
        row = db.get(WebSession, token_hash(token))
        if row is None:
            return None
        now = utcnow()
        record = SessionRecord(row.user_id, row.csrf_token, row.created_at, row.last_seen_at)
        if _expired(record, now):
            # In a transaction of its own: the request that found it expired is refused and rolls back.
            with session_scope() as own:
                own.execute(delete(WebSession).where(col(WebSession.token_hash) == row.token_hash))
                _purge_idle(own, row.user_id, now)
            return None
        if now - row.last_seen_at > TOUCH_EVERY:
            row.last_seen_at = now
            db.add(row)
        return record

    def delete(self, db: Session, token: str) -> None:
        db.execute(delete(WebSession).where(col(WebSession.token_hash) == token_hash(token)))

    def delete_for_user(self, db: Session, user_id: int) -> None:
        db.execute(delete(WebSession).where(col(WebSession.user_id) == user_id))


def _purge_idle(db: Session, user_id: int, now: datetime) -> None:
    cutoff = now - timedelta(minutes=console_settings().session_idle_minutes)
    db.execute(delete(WebSession).where(col(WebSession.user_id) == user_id, col(WebSession.last_seen_at) < cutoff))


class RedisSessionStore:
    PREFIX = "hotline:websession:"

    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    def _ttl(self) -> int:
        return console_settings().session_idle_minutes * 60

    def _key(self, token: str) -> str:
        return self.PREFIX + token_hash(token)

    def _user_key(self, user_id: int) -> str:
        return f"{self.PREFIX}user:{user_id}"

    def create(self, db: Session, user_id: int, ip: str | None) -> tuple[str, SessionRecord]:
        token, now = secrets.token_urlsafe(32), utcnow()
        record = SessionRecord(user_id, secrets.token_urlsafe(32), now, now)
        pipe = self.redis.pipeline()
        pipe.set(self._key(token), _dump(record), ex=self._ttl())
        pipe.sadd(self._user_key(user_id), token_hash(token))
        pipe.expire(self._user_key(user_id), console_settings().session_max_hours * 3600)
        pipe.execute()
        return token, record

    def load(self, db: Session, token: str) -> SessionRecord | None:
        raw = self.redis.get(self._key(token))
        if raw is None:
            return None
        record, now = _load(raw), utcnow()
        if _expired(record, now):
            self.redis.delete(self._key(token))
            return None
        if now - record.last_seen_at > TOUCH_EVERY:
            record = SessionRecord(record.user_id, record.csrf_token, record.created_at, now)
            self.redis.set(self._key(token), _dump(record), ex=self._ttl())
        return record

    def delete(self, db: Session, token: str) -> None:
        self.redis.delete(self._key(token))

    def delete_for_user(self, db: Session, user_id: int) -> None:
        hashes = self.redis.smembers(self._user_key(user_id))
        keys = [self.PREFIX + (h.decode() if isinstance(h, bytes) else str(h)) for h in hashes]
        if keys:
            self.redis.delete(*keys)
        self.redis.delete(self._user_key(user_id))


def _dump(record: SessionRecord) -> str:
    return json.dumps(
        {
            "user_id": record.user_id,
            "csrf": record.csrf_token,
            "created": record.created_at.isoformat(),
            "seen": record.last_seen_at.isoformat(),
        }
    )


def _load(raw: Any) -> SessionRecord:
    data = json.loads(raw)
    return SessionRecord(
        int(data["user_id"]),
        str(data["csrf"]),
        datetime.fromisoformat(data["created"]),
        datetime.fromisoformat(data["seen"]),
    )


def _build_store() -> SessionStore:
    url = kernel_settings().redis_url
    if url:
        return RedisSessionStore(Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2))
    return DatabaseSessionStore()


STORE = providers.Key("console session store", _build_store)


def session_store() -> SessionStore:
    return providers.get(STORE)
