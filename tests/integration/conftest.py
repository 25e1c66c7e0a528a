"""Integration fixtures: a fresh PostgreSQL database per run, the real Redis, and real `hotline serve` /
`hotline worker` subprocesses. No fakes here."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
import redis as redis_lib

from tests.conftest import free_port, make_api_key

PG_ADMIN = os.environ.get("HOTLINE_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("HOTLINE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
BIN = Path(sys.executable).parent


def _require_services() -> None:
    try:
        with psycopg.connect(PG_ADMIN, connect_timeout=3):
            pass
        redis_lib.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()
    except Exception as exc:  # CI starts both; a missing service is a failure there, not a skip
        pytest.fail(f"integration tests need PostgreSQL and Redis running: {exc}")


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh database for this run, dropped at the end."""
    _require_services()
    name = f"hotline_it_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    yield f"{base}/{name}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def prod_env(pg_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[dict[str, str]]:
    """Settings for PostgreSQL + Redis; a queue name of its own; empty case tables."""
    from tests.conftest import reset_caches

    env = {
        "HOTLINE_DATABASE_URL": pg_url,
        "HOTLINE_REDIS_URL": REDIS_URL,
        "HOTLINE_QUEUE_NAME": f"it-{uuid.uuid4().hex[:8]}",
        "HOTLINE_VAR_DIR": str(tmp_path / "var"),
        "HOTLINE_SWEEP_INTERVAL_SECONDS": "1",
        "HOTLINE_SWEEP_DELAY_SECONDS": "2",
        "HOTLINE_JOB_RETRY_INTERVALS": "[1, 1, 1]",
        "HOTLINE_LOG_LEVEL": "WARNING",
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    reset_caches()
    from hotline.bootstrap import prepare_database
    from hotline.jobs import wire_jobs

    wire_jobs()  # jobs run by name, as in every entry point

    prepare_database()
    from sqlalchemy import text

    from cases.db import get_engine

    with get_engine().begin() as conn:
        conn.execute(text('TRUNCATE report, case_event, "case", case_counter RESTART IDENTITY CASCADE'))
        # A version another test published would route this one's reports: back to the shipped v1.
        conn.execute(text("TRUNCATE rule_set, routing_rule RESTART IDENTITY CASCADE"))
    from cases import providers
    from cases.db import session_scope
    from routing.rule_sets import seed_rule_set
    from routing.ruleset import ROUTING_TABLE

    with session_scope() as s:
        seed_rule_set(s)
    providers.reset(ROUTING_TABLE)
    yield {**os.environ, **env}
    reset_caches()


@pytest.fixture
def api_key(prod_env: dict[str, str]) -> str:
    """tests/conftest.py's api_key, made in this run's PostgreSQL database."""
    return make_api_key()


class Procs:
    def __init__(self) -> None:
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
        f = log.open("ab")
        # A session of its own: an RQ worker forks a scheduler process, and killing the worker must take
        # the whole group (as a machine or container dying would), or the scheduler lives on orphaned.
        p = subprocess.Popen(
            [str(BIN / "hotline"), *args], env=env, stdout=f, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.procs.append(p)
        return p

    @staticmethod
    def kill(p: subprocess.Popen[bytes], sig: int = signal.SIGKILL) -> None:
        try:
            os.killpg(p.pid, sig)
        except ProcessLookupError:
            pass

    def stop_all(self) -> None:
        for p in self.procs:
            self.kill(p, signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                pass
            self.kill(p)  # and whatever the group still holds
            p.wait(10)


@pytest.fixture
def procs() -> Iterator[Procs]:
    p = Procs()
    yield p
    p.stop_all()


def wait_until(pred: Callable[[], object], timeout: float = 30.0, what: str = "condition") -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = pred()
        except (httpx.HTTPError, OSError):
            value = None
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def serving(base: str) -> bool:
    """The server answers with its database and Redis reachable (workers may not be started yet: then
    `/readyz` is 503, saying no worker is live)."""
    checks = httpx.get(f"{base}/readyz", timeout=2).json().get("checks", {})
    return checks.get("database") == "ok" and checks.get("redis") == "ok"


@pytest.fixture
def server(prod_env: dict[str, str], procs: Procs, tmp_path: Path) -> str:
    """`hotline serve` with two uvicorn workers on a free port; returns its base URL."""
    port = free_port()
    procs.start(["serve", "--port", str(port), "--workers", "2"], prod_env, tmp_path / "serve.log")
    base = f"http://127.0.0.1:{port}"
    wait_until(lambda: serving(base), 60, "server ready")
    return base
