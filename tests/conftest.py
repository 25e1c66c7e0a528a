"""Shared fixtures.

Unit tests get a migrated, seeded SQLite file per test (copied from a template made once per session)
and a queue that runs jobs synchronously right after commit. Integration tests (tests/integration)
use the real PostgreSQL and Redis; see tests/integration/conftest.py.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
import structlog
from fastapi.testclient import TestClient

from cases import jobs, providers
from cases.db import dispose_engines
from cases.settings import kernel_settings

if TYPE_CHECKING:
    from hotline.queues import SyncQueue

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


def reset_caches() -> None:
    """Forget every process-wide value (settings, engines, queue, hooks, classifier, routing table, reference
    names, flows, limiter …): they are all in one registry, and the next use builds each from the
    environment as the test set it. Not in it, on purpose: the tokenizer (classifiers/tokenizer.py), built
    from files shipped with the code and so the same in every test (rebuilding it per test costs seconds),
    and SQLite's writer lock per database file (cases/db.py). The log context goes too: a use case called
    straight from a test (not in a request or job) binds its case or report to the test's own thread."""
    providers.reset()
    structlog.contextvars.clear_contextvars()


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
    from hotline.jobs import wire_jobs
    from hotline.wiring import wire_observers

    wire_jobs()  # jobs run by name, as in every entry point
    wire_observers()  # the SLA clocks follow every move, as in every entry point
    yield tmp_path
    jobs.set_queue(None)
    reset_caches()


@pytest.fixture
def sync_queue(env: Path) -> Iterator[SyncQueue]:
    from hotline.queues import SyncQueue

    q = SyncQueue()
    jobs.set_queue(q)
    yield q
    jobs.set_queue(None)


@pytest.fixture
def client(sync_queue: SyncQueue) -> Iterator[TestClient]:
    """The whole app on the test database, with its case hooks; jobs run synchronously right after each
    commit."""
    from hotline.app import create_app

    assert kernel_settings().redis_url is None
    with TestClient(create_app(queue=sync_queue)) as c:
        yield c


@pytest.fixture
def no_follow_up_jobs(client: TestClient) -> None:
    """No job follows a case's moves in this test (the 派遣/反馈 SMS, the 回访 call), for tests that start
    such a job themselves and count what it sends."""
    from cases import hooks

    hooks.clear()


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
    env = {
        **os.environ,
        "HOTLINE_DATABASE_URL": f"sqlite:///{db}",
        "HOTLINE_VAR_DIR": str(tmp_path / "var"),
        "HOTLINE_MIGRATE_ON_START": "false",
        "HOTLINE_PUBLIC_BASE_URL": base,
        "HOTLINE_LOG_LEVEL": "WARNING",
    }
    env.pop("HOTLINE_REDIS_URL", None)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "hotline.app:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
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


# --- No phone number in any log line (issue 12, defect 5) -------------------------------------------
# Every record logged during the session also goes to a file, with tracebacks; when the session ends,
# the file is searched for every full phone number the tests use (found in the tests' own source, so a
# new fixture number is covered without listing it). A hit fails the run and prints the lines.

_TEST_PHONE = re.compile(r"(?<![\d\-*])(?:\+?86)?(1[3-9]\d{9})(?!\d)")


def _fixture_phones() -> set[str]:
    found: set[str] = set()
    for path in Path(__file__).parent.rglob("*.py"):
        found.update(m.group(1) for m in _TEST_PHONE.finditer(path.read_text(encoding="utf-8")))
    return found


def pytest_configure(config: pytest.Config) -> None:
    from hotline.bootstrap import install_phone_masking

    install_phone_masking()  # as every entry point does (bootstrap.configure_logging)
    path = Path(tempfile.mkdtemp(prefix="hotline-test-logs-")) / "session.log"
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    if root.getEffectiveLevel() > logging.INFO:
        root.setLevel(logging.INFO)
    config.stash[_SESSION_LOG] = path


_SESSION_LOG = pytest.StashKey[Path]()


def phone_leaks(log_text: str, phones: set[str]) -> list[str]:
    """Log lines holding one of `phones` in full (national digits, with or without +86)."""
    return [line for line in log_text.splitlines() if any(p in re.sub(r"[\s\-]", "", line) for p in phones)]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    path = session.config.stash.get(_SESSION_LOG, None)
    if path is None or not path.exists():
        return
    for h in logging.getLogger().handlers:
        h.flush()
    leaks = phone_leaks(path.read_text(encoding="utf-8", errors="replace"), _fixture_phones())
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.ensure_newline()
    if leaks:
        if reporter is not None:
            reporter.write_line(f"PHONE NUMBERS IN LOGS ({len(leaks)} lines, log: {path}):", red=True)
            for line in leaks[:20]:
                reporter.write_line("  " + line[:300])
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    elif reporter is not None:
        size = path.stat().st_size
        reporter.write_line(f"session log {path}: {size} bytes, no full phone number in it")


def pytest_terminal_summary(terminalreporter: object) -> None:
    from tests.hostile import FIGURES

    write = terminalreporter.write_line
    for line in FIGURES:
        write(line)
