"""CI check: schemathesis over the OpenAPI schema against `hotline serve` on PostgreSQL + Redis, where NUL
in text and ids beyond INTEGER fail inside the database. Zero 5xx, only documented statuses."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from cases.db import session_scope
from hotline.bootstrap import mask_phones
from intake.open311.keys import create_key
from tests.api_fuzz import run_schemathesis
from tests.hostile import FIGURES, api_auth_headers
from tests.integration.conftest import Procs, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_schemathesis_on_postgresql(server: str, procs: Procs, prod_env: dict[str, str], tmp_path: Path) -> None:
    # As deployed: with a worker live, /readyz is 200; without one its truthful answer is 503.
    procs.start(["worker"], prod_env, tmp_path / "worker.log")
    wait_until(lambda: httpx.get(f"{server}/readyz", timeout=2).status_code == 200, 60, "a live worker")
    with session_scope() as s:
        _, key = create_key(s, "schemathesis")
    figures = run_schemathesis(server, api_auth_headers(), key)
    FIGURES.append("PostgreSQL " + figures.summary())
    assert figures.operations >= 15 and figures.requests > 15 * 20
    assert figures.server_errors == 0, figures.failures[:10]
    assert figures.failures == [], figures.failures[:10]
    log = (tmp_path / "serve.log").read_text(encoding="utf-8", errors="replace")
    assert mask_phones(log) == log  # nothing phone-shaped left unmasked in the server's log (if any)
