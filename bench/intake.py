"""Intake throughput: reports acknowledged per second at 64 connections, as ratios to what the framework
and the database allow on this machine, measured in the same run.

For each backend (PostgreSQL + Redis with RQ; the embedded SQLite default) in a scratch database of its own:

1. the bare endpoint (`bench/intake_bare.py`: FastAPI, the same `ApiReportIn` body, nothing behind it), served
   by uvicorn like `hotline serve`: one process, uvloop + httptools;
2. `hotline serve`, `POST /api/v1/reports` with an API key, each report unique (external_id and text);
   afterwards every acknowledged report is looked up by its external id (must all be stored);
3. a raw single-row INSERT loop with the app's durability: PostgreSQL, `synchronous_commit` as the app has it
   (on), one commit per row from `--db-connections` connections; SQLite, WAL + `synchronous=FULL`, one
   writer (SQLite has one), a commit per row.

The load generator is one aiohttp client bounded by a semaphore (`--concurrency`, 64), posting a fixed
`--count` after a warm-up; it runs on the same 2 CPUs as the server, as the bare endpoint's does. Not
httpx's AsyncClient: at 64 connections it was itself the bottleneck (~190 requests/s against the bare
endpoint, where aiohttp drove ~1,150 in the same minute).

    .venv/bin/python bench/intake.py [--count 3000] [--concurrency 64] [--backend sqlite|postgres|both]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import aiohttp
import httpx
import psycopg

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parent.parent
ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
WORDS = ["东门菜市场门口垃圾堆了", "青砖湖路污水井盖不见了", "胜利街菜场外占道经营", "考棚街工地半夜施工", "路灯不亮"]


@dataclass
class Load:
    acked: int
    failed: int
    seconds: float
    latencies: list[float]
    acked_ids: list[str]

    @property
    def rate(self) -> float:
        return self.acked / self.seconds

    def p(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))] if ordered else float("nan")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(base: str, path: str = "/readyz") -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + path, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{base} did not become ready")


async def _load(base: str, path: str, key: str, tag: str, count: int, concurrency: int) -> Load:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    sem = asyncio.Semaphore(concurrency)
    latencies: list[float] = []
    acked: list[str] = []
    failed = 0
    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(base, connector=connector, timeout=timeout, headers=headers) as client:

        async def post(i: int) -> None:
            nonlocal failed
            ext = f"{tag}-{i}"
            body = {"external_id": ext, "text": f"{WORDS[i % len(WORDS)]}，第{i}次 {tag}", "phone": "13800138000"}
            async with sem:
                t = time.perf_counter()
                try:
                    async with client.post(path, json=body) as r:
                        await r.read()
                        status = r.status
                except (aiohttp.ClientError, TimeoutError):
                    failed += 1
                    return
                dt = time.perf_counter() - t
            if status == 202:
                latencies.append(dt)
                acked.append(ext)
            else:
                failed += 1

        t0 = time.perf_counter()
        await asyncio.gather(*(post(i) for i in range(count)))
        seconds = time.perf_counter() - t0
    return Load(len(acked), failed, seconds, latencies, acked)


def load(base: str, path: str, key: str, count: int, concurrency: int, warm: int = 200) -> Load:
    asyncio.run(_load(base, path, key, f"warm{uuid.uuid4().hex[:6]}", warm, concurrency))
    return asyncio.run(_load(base, path, key, f"b{uuid.uuid4().hex[:8]}", count, concurrency))


def raw_postgres(url: str, count: int, connections: int) -> Load:
    """Single-row INSERTs, a commit each, from `connections` threads (synchronous_commit as the server has it)."""
    with psycopg.connect(url, autocommit=True) as c:
        c.execute("CREATE TABLE IF NOT EXISTS bench_raw (id bigserial PRIMARY KEY, external_id text UNIQUE, body text)")
    latencies: list[float] = []
    lock = threading.Lock()
    per = count // connections

    def work(n: int) -> None:
        mine = []
        with psycopg.connect(url, autocommit=True) as c:
            for i in range(per):
                t = time.perf_counter()
                row = (f"{n}-{i}-{uuid.uuid4().hex}", "x")
                c.execute("INSERT INTO bench_raw (external_id, body) VALUES (%s, %s)", row)
                mine.append(time.perf_counter() - t)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(connections)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return Load(len(latencies), 0, time.perf_counter() - t0, latencies, [])


def raw_sqlite(path: Path, count: int) -> Load:
    """SQLite's ceiling for durable single-row commits: one writer, WAL, synchronous=FULL, a commit per row."""
    c = sqlite3.connect(path, isolation_level=None)
    c.execute("PRAGMA journal_mode=WAL")
    c.execute("PRAGMA synchronous=FULL")
    c.execute("CREATE TABLE IF NOT EXISTS bench_raw (id INTEGER PRIMARY KEY, external_id TEXT UNIQUE, body TEXT)")
    latencies = []
    t0 = time.perf_counter()
    for i in range(count):
        t = time.perf_counter()
        c.execute("BEGIN")
        c.execute("INSERT INTO bench_raw (external_id, body) VALUES (?, ?)", (f"{i}-{uuid.uuid4().hex}", "x"))
        c.execute("COMMIT")
        latencies.append(time.perf_counter() - t)
    seconds = time.perf_counter() - t0
    c.close()
    return Load(count, 0, seconds, latencies, [])


def stored(db_url: str, key_id: int, ids: list[str]) -> int:
    """How many of the acknowledged external ids have their report row (each once)."""
    wanted = [f"k{key_id}:{e}" for e in ids]
    if db_url.startswith("sqlite"):
        c = sqlite3.connect(db_url.removeprefix("sqlite:///"))
        c.execute("CREATE TEMP TABLE w (e TEXT PRIMARY KEY)")
        c.executemany("INSERT INTO w VALUES (?)", [(e,) for e in wanted])
        n = c.execute("SELECT count(*) FROM report r JOIN w ON r.external_id = w.e AND r.channel = 'api'").fetchone()[0]
        c.close()
        return int(n)
    with psycopg.connect(db_url.replace("+psycopg", "")) as c:
        row = c.execute(
            "SELECT count(*) FROM report WHERE channel = 'api' AND external_id = ANY(%s)", (wanted,)
        ).fetchone()
        return int(row[0]) if row else 0


def _start(cmd: list[str], env: dict[str, str], log: IO[bytes]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()


def run_backend(name: str, env: dict[str, str], db_url: str, args: argparse.Namespace) -> dict[str, Load]:
    env = {**env, "HOTLINE_API_INTAKE_PER_MINUTE": "100000000", "PYTHONPATH": str(ROOT)}
    log = open(Path(tempfile.gettempdir()) / f"bench-intake-{name}.log", "wb")
    out: dict[str, Load] = {}
    try:
        port = free_port()
        bare = _start(
            [sys.executable, "-m", "uvicorn", "bench.intake_bare:app", "--port", str(port), "--log-level", "warning"],
            env,
            log,
        )
        try:
            wait_ready(f"http://127.0.0.1:{port}", "/healthz")
            out["bare (def)"] = load(f"http://127.0.0.1:{port}", "/api/v1/reports", "", args.count, args.concurrency)
            out["bare (async def)"] = load(
                f"http://127.0.0.1:{port}", "/async/api/v1/reports", "", args.count, args.concurrency
            )
        finally:
            _stop(bare)

        port = free_port()
        serve = _start([str(BIN / "hotline"), "serve", "--port", str(port)], env, log)
        try:
            wait_ready(f"http://127.0.0.1:{port}", "/healthz")  # /readyz wants a live RQ worker; none runs here
            made = subprocess.run(
                [str(BIN / "hotline"), "apikeys", "create", "bench", "--scope", "intake"],
                env=env,
                check=True,
                capture_output=True,
                text=True,
            )
            key = made.stdout.strip().splitlines()[-1]
            if args.profile:
                input(f"hotline serve pid {serve.pid}: start the profiler, then press Enter ")
            r = load(f"http://127.0.0.1:{port}", "/api/v1/reports", key, args.count, args.concurrency)
            key_id = _key_id(db_url)
            out["hotline"] = r
            out["_stored"] = Load(stored(db_url, key_id, r.acked_ids), 0, 1, [], [])
        finally:
            _stop(serve)

        if db_url.startswith("sqlite"):
            out["raw insert"] = raw_sqlite(Path(db_url.removeprefix("sqlite:///")).with_name("raw.db"), args.count)
        else:
            out["raw insert"] = raw_postgres(db_url.replace("+psycopg", ""), args.count, args.db_connections)
    finally:
        log.close()
    return out


def _key_id(db_url: str) -> int:
    if db_url.startswith("sqlite"):
        c = sqlite3.connect(db_url.removeprefix("sqlite:///"))
        n = c.execute("SELECT max(id) FROM api_key").fetchone()[0]
        c.close()
        return int(n)
    with psycopg.connect(db_url.replace("+psycopg", "")) as c:
        row = c.execute("SELECT max(id) FROM api_key").fetchone()
        return int(row[0]) if row else 0


def _clear_queue(queue_name: str) -> None:
    from redis import Redis
    from rq import Queue

    conn = Redis.from_url("redis://127.0.0.1:6379/0")
    q = Queue(queue_name, connection=conn)
    q.empty()  # the run's jobs: nobody works this queue
    conn.delete(f"rq:queue:{queue_name}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=3000, help="reports posted per measurement (after 200 warm-up)")
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--db-connections", type=int, default=32, help="connections of the raw PostgreSQL loop")
    ap.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    ap.add_argument("--profile", action="store_true", help="pause before the hotline run (attach py-spy)")
    args = ap.parse_args()
    common = {**os.environ, "HOTLINE_LOG_LEVEL": "WARNING", "HOTLINE_SWEEP_DELAY_SECONDS": "600"}
    results: dict[str, dict[str, Load]] = {}
    if args.backend in ("postgres", "both"):
        name = f"hotline_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(ADMIN_URL, autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{name}"')
        url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
        queue = f"bench-{name}"
        env = {**common, "HOTLINE_DATABASE_URL": url, "HOTLINE_REDIS_URL": "redis://127.0.0.1:6379/0"}
        env["HOTLINE_QUEUE_NAME"] = queue
        try:
            # No RQ worker: intake alone is measured; the jobs wait in the run's own queue, emptied after.
            results["postgres + redis (RQ)"] = run_backend("postgres", env, url, args)
        finally:
            _clear_queue(queue)
            with psycopg.connect(ADMIN_URL, autocommit=True) as c:
                c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    if args.backend in ("sqlite", "both"):
        tmp = Path(tempfile.mkdtemp())
        url = f"sqlite:///{tmp / 'bench.db'}"
        env = {**common, "HOTLINE_DATABASE_URL": url, "HOTLINE_VAR_DIR": str(tmp)}
        env.pop("HOTLINE_REDIS_URL", None)
        # The embedded default runs its pipeline in the server process, during intake, as deployed.
        results["sqlite (embedded, in-process jobs)"] = run_backend("sqlite", env, url, args)

    load_avg = os.getloadavg()
    print(f"{args.count} unique reports per row at {args.concurrency} connections (one aiohttp client);")
    print(f"load average at the end {load_avg[0]:.2f} {load_avg[1]:.2f} {load_avg[2]:.2f}")
    print("| backend | what | acknowledged/s | p50 ms | p99 ms | failed | × bare (def) | × bare (async) |")
    print("|---|---|---|---|---|---|---|---|")
    for backend, rows in results.items():
        base_def, base_async = rows["bare (def)"].rate, rows["bare (async def)"].rate
        for what, r in rows.items():
            if what.startswith("_"):
                continue
            print(
                f"| {backend} | {what} | {r.rate:.0f} | {r.p(50) * 1e3:.1f} | {r.p(99) * 1e3:.1f} | {r.failed} "
                f"| {r.rate / base_def:.2f} | {r.rate / base_async:.2f} |"
            )
        h = rows["hotline"]
        print(f"| {backend} | acknowledged reports stored | {rows['_stored'].acked} of {h.acked} | | | | | |")


if __name__ == "__main__":
    main()
