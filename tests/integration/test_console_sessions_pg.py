"""Console sessions on the production stack: PostgreSQL for accounts, Redis for sessions (any web node
serves any session), with the idle timeout as the key's TTL, logout and disabling ending them."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import redis as redis_lib
from fastapi.testclient import TestClient
from sqlmodel import select

from agent_ui.accounts.models import WebSession
from agent_ui.accounts.sessions import RedisSessionStore, session_store, token_hash
from agent_ui.auth import SESSION_COOKIE
from cases.db import session_scope
from tests.console_helpers import login, make_user
from tests.integration.conftest import REDIS_URL

pytestmark = [pytest.mark.integration]


@pytest.fixture
def pg_client(prod_env: dict[str, str]) -> Iterator[TestClient]:
    from hotline.app import create_app
    from hotline.queues import SyncQueue

    with TestClient(create_app(queue=SyncQueue())) as c:
        yield c


def test_sessions_live_in_redis_with_the_idle_ttl(pg_client: TestClient) -> None:
    name = f"li{uuid.uuid4().hex[:6]}"
    make_user(name, "agent")
    assert isinstance(session_store(), RedisSessionStore)
    csrf = login(pg_client, name)
    token = pg_client.cookies[SESSION_COOKIE]
    r = redis_lib.Redis.from_url(REDIS_URL)
    key = RedisSessionStore.PREFIX + token_hash(token)
    assert r.exists(key) and 0 < r.ttl(key) <= 30 * 60
    with session_scope() as s:  # nothing of it in the database
        assert s.exec(select(WebSession)).first() is None

    assert pg_client.get("/account").status_code == 200
    r.delete(key)  # as if the TTL ran out
    assert pg_client.get("/account", follow_redirects=False).status_code == 303

    csrf = login(pg_client, name)
    token = pg_client.cookies[SESSION_COOKIE]
    assert pg_client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False).status_code == 303
    assert not r.exists(RedisSessionStore.PREFIX + token_hash(token))


def test_disabling_a_user_ends_their_redis_sessions(pg_client: TestClient) -> None:
    from agent_ui.accounts.service import get_user, set_active

    name = f"wu{uuid.uuid4().hex[:6]}"
    make_user(name, "agent")
    login(pg_client, name)
    with session_scope() as s:
        user = get_user(s, name)
        assert user is not None
        set_active(s, user, False)
    assert pg_client.get("/account", follow_redirects=False).status_code == 303
