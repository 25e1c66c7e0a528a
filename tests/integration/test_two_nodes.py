"""Two `hotline serve` nodes behind one nginx port (Debian's nginx-light, scripts/system-deps.sh), with a
worker, on a database of this run's own: every report posted through nginx lands once (its retry, sent
again through nginx, gets the same report back), every one becomes a case, and both nodes served
(scripts/two_nodes.py, what docs/operations.md's "Scaling" describes)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.conftest import REDIS_URL

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]


def test_two_nodes_behind_nginx_take_every_report_once(pg_url: str, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "HOTLINE_DATABASE_URL": pg_url,
        "HOTLINE_REDIS_URL": REDIS_URL,
        "HOTLINE_QUEUE_NAME": f"two-nodes-{tmp_path.name[-8:]}",
        "HOTLINE_VAR_DIR": str(tmp_path / "var"),
        "PATH": os.environ.get("PATH", "") + ":/usr/sbin",
    }
    done = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "two_nodes.py"), "--reports", "30"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "every report landed once and both nodes served" in done.stdout, done.stdout
