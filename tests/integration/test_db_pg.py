"""Bookkeeping sessions on PostgreSQL commit without waiting for the WAL flush; the default ones wait."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from cases.db import session_scope

pytestmark = [pytest.mark.integration]


def test_bookkeeping_sessions_turn_synchronous_commit_off_for_their_transactions(prod_env: dict[str, str]) -> None:
    with session_scope() as s:
        assert s.execute(text("SHOW synchronous_commit")).scalar() == "on"
    with session_scope(durable=False) as s:
        assert s.execute(text("SHOW synchronous_commit")).scalar() == "off"
        s.commit()
        # SET LOCAL: each new transaction of the session is a bookkeeping one too
        assert s.execute(text("SHOW synchronous_commit")).scalar() == "off"
    with session_scope() as s:  # and the pooled connection is back to the server's default
        assert s.execute(text("SHOW synchronous_commit")).scalar() == "on"
