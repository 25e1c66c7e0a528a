"""POST → dispatched latency over N reports, on the embedded default and on PostgreSQL + Redis + RQ.

Each backend runs as real processes (`hotline serve`, plus `hotline worker`s for RQ). A report's latency is
the time from just before its POST to the commit time of its case's `dispatch` event (same machine clock).
The baseline in the same run is the round trip of `GET /healthz` on the same server, so the ratio says how
much the pipeline costs over a bare HTTP request on this (shared, noisy) machine.

    .venv/bin/python bench/pipeline.py [--reports 200] [--concurrency 4] [--backend sqlite|postgres|both]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

import httpx
import psycopg
from sqlalchemy import create_engine, text

BIN = Path(sys.executable).parent
TEXTS = [
    "东门菜市场门口垃圾堆了好几天没人清理",
    "青砖湖路上污水井盖不见了很危险",
    "胜利街菜场外面有人占道经营",
    "考棚街工地半夜施工扰民",
    "安国寺旁边的路灯不亮",
    "老邮政大楼对面非法小广告贴满了",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def wait_ready(base: str) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{base} did not become ready")


def run(
    name: str, env: dict[str, str], db_url: str, n: int, concurrency: int, workers: int, pace: float
) -> dict[str, float]:
    procs: list[subprocess.Popen[bytes]] = []
    env = {**env, "HOTLINE_API_INTAKE_PER_MINUTE": "1000000"}  # measure the pipeline, not the rate limit
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = open(Path(tempfile.gettempdir()) / f"bench-{name}.log", "wb")
    try:
        _start_processes(procs, env, port, workers, log)
        wait_ready(base)
        made = subprocess.run(
            [str(BIN / "hotline"), "apikeys", "create", "bench", "--scope", "intake"],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        key = made.stdout.strip().splitlines()[-1]  # the key is printed alone on the last line
        client = httpx.Client(base_url=base, timeout=30, headers={"Authorization": f"Bearer {key}"})
        for i in range(10):  # warm-up: connections, model load, first-case-of-the-day counter row
            client.post("/api/v1/reports", json={"external_id": f"warm-{i}", "text": TEXTS[i % len(TEXTS)]})
        health = []
        for _ in range(200):
            t = time.perf_counter()
            client.get("/healthz")
            health.append(time.perf_counter() - t)

        tag = uuid.uuid4().hex[:6]
        sent: dict[int, float] = {}
        acks: list[float] = []

        def post(i: int) -> None:
            body = {"external_id": f"bench-{tag}-{i}", "text": TEXTS[i % len(TEXTS)], "phone": f"1380013{i:04d}"}
            t_wall = datetime.now(UTC).timestamp()
            t = time.perf_counter()
            r = client.post("/api/v1/reports", json=body)
            acks.append(time.perf_counter() - t)
            sent[r.json()["report_id"]] = t_wall
            if pace:
                time.sleep(pace)

        with ThreadPoolExecutor(concurrency) as pool:
            list(pool.map(post, range(n)))

        rows = _wait_for_cases(db_url, tag, n)
        lat = []
        dispatched = sum(1 for r in rows if r[2] == "dispatch")
        for rid, at, _action in rows:
            if rid in sent:
                at = datetime.fromisoformat(at) if isinstance(at, str) else at  # SQLite returns text
                at_utc = at.replace(tzinfo=UTC) if at.tzinfo is None else at
                lat.append(at_utc.timestamp() - sent[rid])
        h50 = statistics.median(health)
        return {
            "reports": len(lat),
            "dispatched": dispatched,
            "p50": statistics.median(lat),
            "p95": pct(lat, 95),
            "max": max(lat),
            "ack_p50": statistics.median(acks),
            "ack_p95": pct(acks, 95),
            "health_p50": h50,
            "p50_ratio": statistics.median(lat) / h50,
            "p95_ratio": pct(lat, 95) / h50,
        }
    finally:
        _stop(procs)
        log.close()


def _start_processes(
    procs: list[subprocess.Popen[bytes]], env: dict[str, str], port: int, workers: int, log: IO[bytes]
) -> None:
    """`hotline serve` on the port and `workers` RQ workers, all writing to `log`, each added to `procs` as
    it starts (the caller stops what did)."""
    serve = [str(BIN / "hotline"), "serve", "--port", str(port)]
    procs.append(subprocess.Popen(serve, env=env, stdout=log, stderr=subprocess.STDOUT))
    for _ in range(workers):
        procs.append(subprocess.Popen([str(BIN / "hotline"), "worker"], env=env, stdout=log, stderr=subprocess.STDOUT))


def _wait_for_cases(db_url: str, tag: str, n: int) -> list[tuple[int, datetime, str]]:
    """(report id, time, action) of the run's reports dispatched or held, once all `n` are (or after 5 min)."""
    engine = create_engine(db_url)
    deadline = time.monotonic() + 300
    rows: list[tuple[int, datetime, str]] = []
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            rows = [
                (r[0], r[1], r[2])
                for r in conn.execute(
                    text(
                        "SELECT r.id, e.at, e.action FROM report r JOIN case_event e ON e.case_id = r.case_id "
                        "WHERE e.action IN ('dispatch', 'hold_for_agent') AND r.external_id LIKE :tag"
                    ),
                    {"tag": f"%:bench-{tag}-%"},
                )
            ]
        if len(rows) >= n:
            break
        time.sleep(0.5)
    engine.dispose()
    return rows


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in procs:
        p.terminate()
    for p in procs:
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reports", type=int, default=200)
    ap.add_argument("--concurrency", type=int, default=4, help="clients posting at once (burst shape)")
    ap.add_argument("--pace", type=float, default=0.1, help="seconds between posts of the one paced client")
    ap.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    ap.add_argument("--workers", type=int, default=2, help="RQ worker processes for the postgres run")
    args = ap.parse_args()
    results: dict[str, dict[str, float]] = {}
    common = {**os.environ, "HOTLINE_LOG_LEVEL": "WARNING", "HOTLINE_SWEEP_DELAY_SECONDS": "600"}
    if args.backend in ("sqlite", "both"):
        tmp = Path(tempfile.mkdtemp())
        url = f"sqlite:///{tmp / 'bench.db'}"
        env = {**common, "HOTLINE_DATABASE_URL": url, "HOTLINE_VAR_DIR": str(tmp)}
        env.pop("HOTLINE_REDIS_URL", None)
        results["sqlite + in-process · paced"] = run("sqlite", env, url, args.reports, 1, 0, args.pace)
        results[f"sqlite + in-process · burst ×{args.concurrency}"] = run(
            "sqlite", env, url, args.reports, args.concurrency, 0, 0.0
        )
    if args.backend in ("postgres", "both"):
        name = f"hotline_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{name}"')
        url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
        env = {
            **common,
            "HOTLINE_DATABASE_URL": url,
            "HOTLINE_REDIS_URL": "redis://127.0.0.1:6379/0",
            "HOTLINE_QUEUE_NAME": f"bench-{name}",
        }
        try:
            label = f"postgres + redis + {args.workers} rq workers"
            results[f"{label} · paced"] = run("postgres", env, url, args.reports, 1, args.workers, args.pace)
            results[f"{label} · burst ×{args.concurrency}"] = run(
                "postgres", env, url, args.reports, args.concurrency, args.workers, 0.0
            )
        finally:
            with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as c:
                c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print(f"POST → dispatched over {args.reports} reports per row; paced = one client, {args.pace}s between posts;")
    print(f"burst = {args.concurrency} clients posting as fast as the server answers.")
    print("Latency runs to the pipeline's decision: `dispatch`, or `hold_for_agent` when the confidence gate")
    print("holds a case for a person (counted separately).")
    print(
        "| backend | reports (dispatched) | p50 ms | p95 ms | max ms | POST ack p50/p95 ms "
        "| /healthz p50 ms | p50 × healthz | p95 × healthz |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for k, r in results.items():
        print(
            f"| {k} | {r['reports']:.0f} ({r['dispatched']:.0f}) | {r['p50'] * 1e3:.1f} | {r['p95'] * 1e3:.1f} "
            f"| {r['max'] * 1e3:.1f} | "
            f"{r['ack_p50'] * 1e3:.1f}/{r['ack_p95'] * 1e3:.1f} | {r['health_p50'] * 1e3:.2f} | "
            f"{r['p50_ratio']:.1f} | {r['p95_ratio']:.1f} |"
        )


if __name__ == "__main__":
    main()
