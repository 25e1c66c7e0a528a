"""Shared fixtures.

Unit tests get a migrated, seeded SQLite file per test (copied from a template made once per session)
and a queue that runs jobs synchronously right after commit. Integration tests (tests/integration)
use the real PostgreSQL and Redis; see tests/integration/conftest.py.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from cases import jobs
from cases.db import dispose_engines
from cases.settings import get_settings, reset_settings

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


def reset_caches() -> None:
    from cases import hooks
    from classifiers.registry import reset_classifier
    from intake.ratelimit import reset_limiter

    hooks.clear()
    reset_limiter()  # counts are per key id / IP, and every test's database starts at id 1
    from routing.pipeline import routing_table

    reset_settings()
    dispose_engines()
    reset_classifier()
    routing_table.cache_clear()


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "hotline.db"
    mp = pytest.MonkeyPatch()
    mp.setenv("HOTLINE_DATABASE_URL", f"sqlite:///{path}")
    reset_caches()
    from hotline.bootstrap import prepare_database

    prepare_database()
    dispose_engines()
    mp.undo()
    reset_caches()
    return path


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, template_db: Path) -> Iterator[Path]:
    """A fresh migrated+seeded SQLite database and var dir for this test; settings point at them."""
    db = tmp_path / "hotline.db"
    shutil.copy(template_db, db)
    monkeypatch.setenv("HOTLINE_DATABASE_URL", f"sqlite:///{db}")
    monkeypatch.setenv("HOTLINE_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("HOTLINE_MIGRATE_ON_START", "false")
    monkeypatch.setenv("HOTLINE_WARM_UP_ON_START", "false")  # tests that need the model load it on demand
    monkeypatch.delenv("HOTLINE_REDIS_URL", raising=False)
    reset_caches()
    yield tmp_path
    jobs.set_queue(None)
    reset_caches()


@pytest.fixture
def sync_queue(env: Path) -> Iterator[object]:
    from hotline.queues import SyncQueue

    q = SyncQueue()
    jobs.set_queue(q)
    yield q
    jobs.set_queue(None)


@pytest.fixture
def client(sync_queue: object) -> Iterator[TestClient]:
    """The whole app on the test database; jobs run synchronously right after each commit."""
    from hotline.app import create_app

    assert get_settings().redis_url is None
    with TestClient(create_app(configure_jobs=False)) as c:
        yield c


API_TEST_SCOPES = ("intake", "read", "routing")


def make_api_key(scopes: tuple[str, ...] | list[str] = API_TEST_SCOPES, name: str = "tests") -> str:
    """A fresh key in the database the settings point at (a unit test's, or a live server's)."""
    from cases.db import session_scope
    from intake.apikeys import create_key

    with session_scope() as s:
        return create_key(s, name, scopes)[1]


@pytest.fixture
def api_key(env: Path) -> str:
    """An intake+read+routing key in this test's database."""
    return make_api_key()


@pytest.fixture
def api_headers(api_key: str) -> dict[str, str]:
    """Headers that authenticate a request to /api/v1 (intake, read and routing scopes)."""
    return {"Authorization": f"Bearer {api_key}"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class LiveServer:
    base: str
    db_url: str


@pytest.fixture
def live_server(tmp_path: Path, template_db: Path) -> Iterator[LiveServer]:
    """A real uvicorn process on 127.0.0.1, embedded default (SQLite copy of the template, in-process jobs)."""
    db = tmp_path / "live.db"
    shutil.copy(template_db, db)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "HOTLINE_DATABASE_URL": f"sqlite:///{db}", "HOTLINE_VAR_DIR": str(tmp_path / "var"),
           "HOTLINE_MIGRATE_ON_START": "false", "HOTLINE_PUBLIC_BASE_URL": base, "HOTLINE_LOG_LEVEL": "WARNING"}
    env.pop("HOTLINE_REDIS_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "hotline.app:create_app", "--factory", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60  # loads the category model before answering; slow on a busy machine
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()  # first: reading the pipe of a live server would block until it exits
                out = proc.communicate(timeout=10)[0].decode()
                raise RuntimeError(f"server did not start:\n{out}")
            time.sleep(0.1)
        yield LiveServer(base, f"sqlite:///{db}")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
