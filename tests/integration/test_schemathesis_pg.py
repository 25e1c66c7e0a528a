"""CI check: schemathesis over the OpenAPI schema against `hotline serve` on PostgreSQL + Redis, where NUL
in text and ids beyond INTEGER fail inside the database. Zero 5xx, only documented statuses."""

from __future__ import annotations

from pathlib import Path

import pytest

from cases.db import session_scope
from hotline.bootstrap import mask_phones
from intake.open311.keys import create_key
from tests.api_fuzz import run_schemathesis
from tests.hostile import FIGURES, api_auth_headers

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_schemathesis_on_postgresql(server: str, tmp_path: Path) -> None:
    with session_scope() as s:
        _, key = create_key(s, "schemathesis")
    figures = run_schemathesis(server, api_auth_headers(), key)
    FIGURES.append("PostgreSQL " + figures.summary())
    assert figures.operations >= 15 and figures.requests > 15 * 20
    assert figures.server_errors == 0, figures.failures[:10]
    assert figures.failures == [], figures.failures[:10]
    log = (tmp_path / "serve.log").read_text(encoding="utf-8", errors="replace")
    assert mask_phones(log) == log  # nothing phone-shaped left unmasked in the server's log (if any)
