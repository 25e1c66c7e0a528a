"""CI check: schemathesis over the OpenAPI schema against a real server (embedded default, SQLite):
zero 5xx, and only the statuses each operation documents. The PostgreSQL run is in
tests/integration/test_schemathesis_pg.py."""

from __future__ import annotations

import pytest

from cases.db import dispose_engines, session_scope
from intake.open311.keys import create_key
from tests.api_fuzz import run_schemathesis
from tests.conftest import LiveServer, reset_caches
from tests.hostile import FIGURES, api_auth_headers

pytestmark = [pytest.mark.slow]


def test_schemathesis_on_sqlite(live_server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOTLINE_DATABASE_URL", live_server.db_url)
    reset_caches()
    with session_scope() as s:
        _, key = create_key(s, "schemathesis")
    dispose_engines()
    figures = run_schemathesis(live_server.base, api_auth_headers(), key)
    FIGURES.append("SQLite " + figures.summary())
    assert figures.operations >= 15 and figures.requests > 15 * 20
    assert figures.server_errors == 0, figures.failures[:10]
    assert figures.failures == [], figures.failures[:10]
