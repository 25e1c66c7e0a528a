"""Fault test: PostgreSQL + Redis + `hotline serve` (2 web workers) + two `hotline worker` processes, under a
steady stream of reports, while one worker is `kill -9`ed (and replaced), Redis is restarted and
PostgreSQL is restarted. Afterwards every acknowledged report is stored with exactly one case, no case
lacks a report, every stored report has its case within a bounded wait, every worker is alive or
replaced, and every refused request got a problem+json 503 with Retry-After (issue 12).

The PostgreSQL and Redis here are the test's own (initdb/redis-server on free ports, in a temporary
directory); the shared instances are never touched.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.conftest import free_port
from tests.integration.conftest import BIN, Procs, serving, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]

STREAM_SECONDS = 48
REPORTS = 300
CLIENTS = 2
CASE_WAIT_SECONDS = 90
TEXTS = [
    "东门菜市场门口垃圾堆了好几天没人清理",
    "青砖湖路上一个污水井盖不见了",
    "胜利街菜场外面有人占道经营",
    "考棚街工地半夜还在施工扰民",
    "安国寺旁边的路灯不亮好几天了",
]


# --- the test's own services ---------------------------------------------------------------------------


def _pg_bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    if found:
        return found[-1].parent
    which = shutil.which("pg_ctl")
    if which is None:
        pytest.fail("PostgreSQL server binaries (initdb, pg_ctl) are needed for the fault test")
    return Path(which).parent


class OwnPostgres:
    """A throw-away cluster. PostgreSQL refuses to run as root: then it runs as the `postgres` user."""

    def __init__(self) -> None:
        self.bin = _pg_bin()
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="hotline-fault-pg-"))  # not under pytest's 0700 tmp dirs
        self.data = self.dir / "data"
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            self.as_user = ["runuser", "-u", "postgres", "--"]
            shutil.chown(self.dir, "postgres", "postgres")
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/hotline"
        self.dsn = f"postgresql://postgres@127.0.0.1:{self.port}/hotline"

    def _run(self, *args: str) -> None:
        subprocess.run([*self.as_user, *args], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def init(self) -> None:
        self._run(
            str(self.bin / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-locale",
            "--no-sync",
        )
        self.start()
        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{self.port}/postgres", autocommit=True) as c:
            c.execute("CREATE DATABASE hotline")

    def start(self) -> None:
        opts = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c max_connections=200"
        self._run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.dir / "pg.log"),
            "-o",
            opts,
            "-w",
            "-t",
            "60",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def remove(self) -> None:
        try:
            self.stop("immediate")
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)


class OwnRedis:
    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        cmd = [
            "redis-server",
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.workdir),
        ]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
        import redis

        wait_until(lambda: redis.Redis(port=self.port, socket_connect_timeout=1).ping(), 10, "redis up")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None


@pytest.fixture
def services(tmp_path: Path) -> Iterator[tuple[OwnPostgres, OwnRedis]]:
    pg = OwnPostgres()
    rds = OwnRedis(tmp_path)
    try:
        pg.init()
        rds.start()
        yield pg, rds
    finally:
        rds.stop()
        pg.remove()


# --- the client stream ---------------------------------------------------------------------------------


def intake_headers(env: dict[str, str]) -> dict[str, str]:
    """An intake key from `hotline apikeys create NAME --scope intake` (it prints the key alone on its last
    line), made the way an operator makes one."""
    r = subprocess.run(
        [str(BIN / "hotline"), "apikeys", "create", "fault-test", "--scope", "intake"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    return {"Authorization": f"Bearer {r.stdout.strip().splitlines()[-1].strip()}"}


def report(line: str) -> None:
    """A figure for the closing summary of the pytest run (with the hostile suites'), and the test's output."""
    from tests.hostile import FIGURES

    FIGURES.append(line)
    print(line)


def post_report(client: httpx.Client, body: dict[str, object], headers: dict[str, str]) -> httpx.Response:
    """The one place the test posts a report."""
    return client.post("/api/v1/reports", json=body, headers=headers)


@dataclass
class Tally:
    sent: int = 0
    acked: dict[str, int] = field(default_factory=dict)  # external_id → report_id
    refused: int = 0
    bad_refusals: list[str] = field(default_factory=list)
    other: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)


def stream(base: str, headers: dict[str, str], n: int, seconds: float, tally: Tally, worker_no: int) -> None:
    gap = seconds / n
    start = time.monotonic()
    with httpx.Client(base_url=base, timeout=20) as client:
        for i in range(n):
            delay = start + i * gap - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            ext = f"fault-{worker_no}-{i}-{uuid.uuid4().hex[:6]}"
            body = {"external_id": ext, "text": TEXTS[i % len(TEXTS)], "phone": f"1380013{worker_no}{i:03d}"}
            with tally.lock:
                tally.sent += 1
            try:
                r = post_report(client, body, headers)
            except httpx.HTTPError as exc:
                with tally.lock:
                    tally.other[f"transport {type(exc).__name__}"] += 1
                continue
            with tally.lock:
                if 200 <= r.status_code < 300:
                    tally.acked[ext] = int(r.json()["report_id"])
                elif r.status_code == 503:
                    tally.refused += 1
                    ok = (
                        r.headers.get("content-type", "").startswith("application/problem+json")
                        and r.headers.get("retry-after", "").isdigit()
                        and r.json().get("status") == 503
                    )
                    if not ok:
                        tally.bad_refusals.append(f"{r.headers.get('content-type')} {r.text[:120]}")
                else:
                    tally.other[str(r.status_code)] += 1


# --- the test ------------------------------------------------------------------------------------------


def test_reports_survive_worker_kill_redis_restart_and_postgres_restart(
    services: tuple[OwnPostgres, OwnRedis], procs: Procs, tmp_path: Path
) -> None:
    pg, rds = services
    env = {
        **os.environ,
        "HOTLINE_DATABASE_URL": pg.url,
        "HOTLINE_REDIS_URL": rds.url,
        "HOTLINE_QUEUE_NAME": "fault",
        "HOTLINE_VAR_DIR": str(tmp_path / "var"),
        "HOTLINE_SWEEP_INTERVAL_SECONDS": "2",
        "HOTLINE_SWEEP_DELAY_SECONDS": "8",
        "HOTLINE_JOB_RETRY_INTERVALS": "[1, 2, 4]",
        "HOTLINE_LOG_LEVEL": "WARNING",
    }
    subprocess.run([str(BIN / "hotline"), "db", "upgrade"], env=env, check=True, capture_output=True, timeout=180)
    headers = intake_headers(env)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    procs.start(["serve", "--port", str(port), "--workers", "2"], env, tmp_path / "serve.log")
    workers = [procs.start(["worker"], env, tmp_path / f"worker{i}.log") for i in (1, 2)]
    wait_until(lambda: serving(base), 120, "server")
    wait_until(
        lambda: httpx.get(f"{base}/readyz", timeout=2).json()["checks"].get("workers") == "2 live",
        120,
        "both workers live",
    )

    tally = Tally()
    per_client = REPORTS // CLIENTS
    clients = [
        threading.Thread(target=stream, args=(base, headers, per_client, STREAM_SECONDS, tally, k))
        for k in range(CLIENTS)
    ]
    t0 = time.monotonic()
    for c in clients:
        c.start()

    def at(seconds: float) -> None:
        time.sleep(max(0.0, t0 + seconds - time.monotonic()))

    events: list[str] = []
    at(8)
    Procs.kill(workers[0])  # SIGKILL to the worker and its scheduler: no clean shutdown
    workers[0].wait(10)
    events.append(f"{time.monotonic() - t0:.1f}s worker 1 killed")
    at(11)
    workers[0] = procs.start(["worker"], env, tmp_path / "worker1b.log")  # what a process manager does
    events.append(f"{time.monotonic() - t0:.1f}s worker 1 replaced")
    at(18)
    rds.stop()
    events.append(f"{time.monotonic() - t0:.1f}s redis stopped")
    at(21)
    rds.start()
    events.append(f"{time.monotonic() - t0:.1f}s redis started")
    at(30)
    pg.stop("fast")
    events.append(f"{time.monotonic() - t0:.1f}s postgres stopped")
    at(34)
    pg.start()
    events.append(f"{time.monotonic() - t0:.1f}s postgres started")
    for c in clients:
        c.join(STREAM_SECONDS + 60)
    stream_end = time.monotonic()

    def stored() -> tuple[int, int, int]:
        with psycopg.connect(pg.dsn, autocommit=True) as c:
            row = c.execute("SELECT count(*), count(case_id) FROM report").fetchone()
            cases = c.execute('SELECT count(*) FROM "case"').fetchone()
        assert row is not None and cases is not None
        return int(row[0]), int(row[1]), int(cases[0])

    def all_have_cases() -> bool:
        n, with_case, _ = stored()
        return n > 0 and n == with_case

    try:
        wait_until(all_have_cases, CASE_WAIT_SECONDS, "every stored report to have a case")
    finally:
        n_reports, n_with_case, n_cases = stored()
        report(f"fault test: {' | '.join(events)}")
        report(
            f"fault test: requests sent {tally.sent}, acknowledged {len(tally.acked)}, refused 503 {tally.refused}"
            f" (malformed refusals {len(tally.bad_refusals)}), other {dict(tally.other) or 0}"
        )
        report(
            f"fault test: reports stored {n_reports}, with a case {n_with_case}, cases {n_cases}, "
            f"all cased {time.monotonic() - stream_end:.1f}s after the stream ended"
        )
    time.sleep(3)  # a stray duplicate job would open its case now: count after it had the chance

    with psycopg.connect(pg.dsn, autocommit=True) as c:
        rows = c.execute("SELECT external_id, id, case_id FROM report WHERE channel = 'api'").fetchall()
        # The API stores a caller's id in its key's namespace, `k<key id>:<external_id>`.
        by_ext = {ext.split(":", 1)[1]: (rid, case_id) for ext, rid, case_id in rows}
        per_case = dict(c.execute("SELECT case_id, count(*) FROM report GROUP BY case_id").fetchall())
        orphan_cases = c.execute(
            'SELECT count(*) FROM "case" k WHERE NOT EXISTS (SELECT 1 FROM report r WHERE r.case_id = k.id)'
        ).fetchone()
        registered = c.execute(
            "SELECT count(*), count(DISTINCT case_id) FROM case_event WHERE action = 'register'"
        ).fetchone()
        n_cases = int(c.execute('SELECT count(*) FROM "case"').fetchone()[0])  # type: ignore[index]
    one_case = sum(
        1 for ext in tally.acked if ext in by_ext and by_ext[ext][1] is not None and per_case.get(by_ext[ext][1]) == 1
    )
    report(
        f"fault test: acknowledged reports stored {sum(ext in by_ext for ext in tally.acked)}, "
        f"with exactly one case {one_case}, cases without a report {orphan_cases[0] if orphan_cases else '?'}"
    )

    # Every acknowledged report is stored, as the report the server named, with exactly one case.
    missing = [ext for ext in tally.acked if ext not in by_ext]
    assert not missing, f"{len(missing)} acknowledged reports not stored"
    assert all(by_ext[ext][0] == rid for ext, rid in tally.acked.items())
    assert one_case == len(tally.acked)
    # Every stored report (acknowledged or not) has a case of its own; no case lacks a report; no case was
    # opened twice for one report.
    assert all(case_id is not None for _, case_id in by_ext.values())
    assert all(count == 1 for count in per_case.values())
    assert orphan_cases == (0,)
    assert registered == (n_cases, n_cases)
    # Every refusal was a problem+json 503 with Retry-After; nothing else went wrong.
    assert not tally.bad_refusals, tally.bad_refusals[:3]
    assert not tally.other, dict(tally.other)
    assert tally.sent == REPORTS and len(tally.acked) + tally.refused == REPORTS
    assert len(tally.acked) > REPORTS // 2  # the faults were short; most of the stream got through
    # Every worker is alive or replaced, and /readyz counts both.
    assert all(w.poll() is None for w in workers), [w.poll() for w in workers]
    wait_until(lambda: httpx.get(f"{base}/readyz", timeout=2).status_code == 200, 60, "readyz after the faults")
    assert httpx.get(f"{base}/readyz", timeout=2).json()["checks"]["workers"] == "2 live"
