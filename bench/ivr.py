"""Voice webhook latency: 50 concurrent simulated calls against a real `uvicorn` server on 127.0.0.1.

Each simulated call is a full reporting call played by `hotline.cli_call.CallSimulator` with correctly
signed webhooks: greeting/menu → press 1 → speech (classified during the call) → press 1 (report stored,
case opened by the pipeline run in-call, SMS queued) → status callback. Latency is measured per webhook,
client side, and reported overall and for the two heavy steps (in-call classification; submit).

Two modes:
  paced — like real calls: a caller needs time to hear a prompt and answer, so each call waits
          `--think` seconds (±50 %) between webhooks; 50 calls are in progress at once.
  burst — no think time: 50 calls hammer the server as fast as it answers (a stress bound, not a call).

    .venv/bin/python bench/ivr.py --calls 50 --rounds 2 --append-docs

Loopback only; every loop is bounded (calls × rounds × steps); the server is stopped at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from hotline.cli_call import CallSimulator, http_transport  # noqa: E402

TOKEN = "bench-token-0123456789abcdef0123"
ACCOUNT = "AC" + "b" * 32
SAYINGS = [
    "东门菜市场附近有暴露垃圾",
    "青砖湖公园路灯坏了",
    "胜利街菜场门口占道经营",
    "考棚街有井盖丢了",
    "遗爱湖公园附近道路破损",
    "黄州大道有人乱倒渣土积存垃圾渣土",
    "西湖菜市场门口机动车乱停放",
    "东坡大道那边有非法小广告",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    v = sorted(values)
    k = min(len(v) - 1, max(0, round(p / 100 * (len(v) - 1))))
    return v[k]


def serve(port: int, classifier: str, web_workers: int = 1) -> None:
    """Server entry (`bench/ivr.py --serve PORT`): the app under uvicorn, optionally with the keyword
    classifier pinned so the IVR's own cost can be told apart from the category model's. Several web
    workers: uvicorn's own worker processes, as `hotline serve --workers N` runs them."""
    import uvicorn

    if web_workers > 1:
        assert classifier == "active", "the keyword classifier is pinned in one process only"
        uvicorn.run(
            "hotline.app:create_app",
            factory=True,
            host="127.0.0.1",
            port=port,
            workers=web_workers,
            log_level="warning",
            access_log=False,
        )
        return
    if classifier == "keyword":
        import routing.pipeline
        from classifiers.serving import registry
        from tests.keyword_classifier import KeywordClassifier

        kw = KeywordClassifier.from_reference_data()
        registry.get_classifier = lambda: kw  # type: ignore[assignment]
        routing.pipeline.get_classifier = lambda: kw  # type: ignore[assignment]
    from hotline.app import create_app

    uvicorn.run(create_app(), host="127.0.0.1", port=port, log_level="warning", access_log=False)


PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def start_server(
    workdir: Path, port: int, classifier: str, db_url: str | None = None, workers: int = 0, web_workers: int = 1
) -> list[subprocess.Popen[bytes]]:
    """The web tier, plus `workers` RQ workers when a PostgreSQL URL is given (Redis on 127.0.0.1).

    The web tier and the workers each run in a session of their own, as services do in production (a
    systemd unit, a container): Linux's scheduler (autogroup) then shares the CPU between them and the
    load generator as between separate services, instead of counting the bench's client threads and the
    web server as one job. Both are stopped as process groups."""
    env = dict(os.environ)
    env.update(
        HOTLINE_DATABASE_URL=db_url or f"sqlite:///{workdir / 'bench.db'}",
        HOTLINE_VAR_DIR=str(workdir / "var"),
        HOTLINE_TWILIO_AUTH_TOKEN=TOKEN,
        HOTLINE_TWILIO_ACCOUNT_SID=ACCOUNT,
        HOTLINE_PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
        HOTLINE_AGENT_HOURS="00:00-24:00",
        HOTLINE_LOG_LEVEL="WARNING",
    )
    env.pop("HOTLINE_TWILIO_FROM_NUMBER", None)  # no outbound: the SMS job logs "not configured" and returns
    env.pop("HOTLINE_REDIS_URL", None)
    if db_url:
        env.update(HOTLINE_REDIS_URL="redis://127.0.0.1:6379/0", HOTLINE_QUEUE_NAME=f"bench-ivr-{port}")
        subprocess.run(
            [sys.executable, "-c", "from hotline.bootstrap import prepare_database as p; p()"],
            cwd=str(REPO),
            env=env,
            check=True,
        )
    log = (workdir / "server.log").open("wb")
    if web_workers > 1:
        env["HOTLINE_MIGRATE_ON_START"] = "false"  # migrated above, once, as `hotline serve` does
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                str(Path(__file__).resolve()),
                "--serve",
                str(port),
                "--classifier",
                classifier,
                "--web-workers",
                str(web_workers),
            ],
            cwd=str(REPO),
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    ]
    if db_url and workers:
        worker = f"{shlex.quote(sys.executable)} -m hotline.cli worker"
        procs.append(
            subprocess.Popen(
                ["sh", "-c", " & ".join([worker] * workers) + " & wait"],
                cwd=str(REPO),
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
    proc = procs[0]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return procs
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise SystemExit(f"server exited; see {workdir / 'server.log'}")
        time.sleep(0.2)
    stop(procs)
    raise SystemExit("server did not start in 60 s")


def stop(procs: list[subprocess.Popen[bytes]]) -> None:
    """Each process was started in its own session: stop its whole group (uvicorn's and RQ's children)."""
    for p in procs:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(p.pid, signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGKILL)
            p.wait(timeout=10)


def one_call(
    base: str,
    i: int,
    think: float,
    rng: random.Random,
    out: dict[str, list[float]],
    lock: threading.Lock,
    errors: list[str],
) -> None:
    script = ["1", SAYINGS[i % len(SAYINGS)], "1"]
    if think:
        time.sleep(rng.uniform(0, 4 * think))  # calls start over about one call's length, as they arrive

    def answer(kind: str, attrs: dict[str, str]) -> str | None:
        if think:
            time.sleep(think * rng.uniform(0.5, 1.5))
        return script.pop(0) if script else None

    sim = CallSimulator(
        http_transport(base),
        base,
        TOKEN,
        from_number=f"+86139{i:08d}",
        account_sid=ACCOUNT,
        out=lambda _: None,
        max_requests=20,
        pause_scale=1.0 if think else 0.0,
    )
    try:
        sim.run(answer)
    except Exception as exc:
        with lock:
            errors.append(f"call {i}: {exc}")
    with lock:
        for (path, _params, _body), ms in zip(sim.requests, sim.latencies_ms, strict=True):
            kind = (
                "classify"
                if "/report/input" in path
                else "submit"
                if "/confirm/input" in path
                else "poll"
                if "/registering/" in path
                else "status"
                if path.endswith("/status")
                else "other"
            )
            out.setdefault(kind, []).append(ms)
            out.setdefault("all", []).append(ms)


def _run_slice(base: str, ids: list[int], think: float, seed: int) -> tuple[dict[str, list[float]], list[str]]:
    """Calls `ids` at once, one thread each (runs in a client process of its own)."""
    out: dict[str, list[float]] = {}
    errors: list[str] = []
    lock = threading.Lock()
    threads = [
        threading.Thread(target=one_call, args=(base, i, think, random.Random(seed + i), out, lock, errors))
        for i in ids
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    return out, errors


def run(
    base: str, calls: int, rounds: int, think: float, seed: int, client_procs: int = 1
) -> tuple[dict[str, list[float]], list[str]]:
    """`calls` concurrent calls per round, spread over `client_procs` processes so the clients' own Python
    (signing, XML parsing) does not queue behind one GIL and inflate what they measure."""
    from concurrent.futures import ProcessPoolExecutor

    out: dict[str, list[float]] = {}
    errors: list[str] = []
    procs = max(1, min(client_procs, calls))
    with ProcessPoolExecutor(max_workers=procs) as pool:
        for r in range(rounds):
            ids = [r * calls + i for i in range(calls)]
            futures = [pool.submit(_run_slice, base, ids[k::procs], think, seed) for k in range(procs)]
            for f in futures:
                part, errs = f.result(timeout=600)
                errors += errs
                for kind, values in part.items():
                    out.setdefault(kind, []).extend(values)
    return out, errors


class StepTimes:
    """Reads CallStep.elapsed_ms (time inside the webhook handler) from the bench database."""

    def __init__(self, sqlite_path: Path, db_url: str | None) -> None:
        self.sqlite_path, self.db_url = sqlite_path, db_url

    def _rows(self, sql: str, args: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        if self.db_url:
            import psycopg

            with psycopg.connect(self.db_url.replace("+psycopg", "")) as c:
                return list(c.execute(sql.replace("?", "%s"), args).fetchall())
        import sqlite3

        con = sqlite3.connect(str(self.sqlite_path))
        try:
            return list(con.execute(sql, args).fetchall())
        finally:
            con.close()

    def count(self) -> int:
        return int(self._rows("SELECT COALESCE(MAX(id), 0) FROM call_step")[0][0])  # type: ignore[call-overload]

    def summary(self, after_id: int) -> str:
        by: dict[str, list[float]] = {}
        for step, ms in self._rows("SELECT step, elapsed_ms FROM call_step WHERE id > ?", (after_id,)):
            by.setdefault(str(step), []).append(float(ms))  # type: ignore[arg-type]
        text = ", ".join(f"{k} {_pct(v, 50):.1f}/{_pct(v, 99):.1f}" for k, v in sorted(by.items()))
        print("  server-side ms (p50/p99): " + text)
        return text


def healthz(base: str, n: int = 50) -> float:
    lat = []
    with httpx.Client() as c:
        for _ in range(n):
            t0 = time.perf_counter()
            c.get(base + "/healthz")
            lat.append((time.perf_counter() - t0) * 1000)
    return statistics.median(lat)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--calls", type=int, default=50, help="concurrent calls")
    ap.add_argument("--rounds", type=int, default=2, help="rounds of concurrent calls per mode")
    ap.add_argument("--think", type=float, default=1.5, help="paced mode: mean seconds between webhooks")
    ap.add_argument("--modes", default="paced,burst")
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument(
        "--classifier",
        default="active",
        help="comma list of: active (whatever get_classifier() serves), keyword (interim classifier)",
    )
    ap.add_argument("--backend", default="sqlite", help="comma list of: sqlite (embedded), postgres (+ Redis/RQ)")
    ap.add_argument("--workers", type=int, default=2, help="RQ worker processes for the postgres backend")
    ap.add_argument(
        "--web-workers",
        type=int,
        default=1,
        help="uvicorn worker processes for the postgres backend (sqlite: always 1, its job thread "
        "lives in the web process)",
    )
    ap.add_argument("--client-procs", type=int, default=1, help="client processes the calls are spread over")
    ap.add_argument("--append-docs", action="store_true", help="write the table to docs/benchmarks.md")
    ap.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        serve(args.serve, args.classifier, args.web_workers)
        return
    assert 1 <= args.calls <= 200 and 1 <= args.rounds <= 20

    rows = []
    for backend in args.backend.split(","):
        assert backend in ("sqlite", "postgres"), backend
        for classifier in args.classifier.split(","):
            assert classifier in ("active", "keyword"), classifier
            for mode in args.modes.split(","):
                rows.append(measure(args, backend, classifier, mode))  # a fresh server and database per row
    if args.append_docs:
        append_docs(rows, args)


def measure(args: argparse.Namespace, backend: str, classifier: str, mode: str) -> dict[str, float | str | int]:
    db_url: str | None = None
    if backend == "postgres":
        import psycopg

        name = f"hotline_bench_ivr_{os.getpid()}_{int(time.time())}"
        with psycopg.connect(PG_ADMIN, autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{name}"')
        db_url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    with tempfile.TemporaryDirectory(prefix="bench-ivr-") as tmp:
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        web_workers = args.web_workers if db_url else 1
        procs = start_server(Path(tmp), port, classifier, db_url, args.workers, web_workers)
        steps = StepTimes(Path(tmp) / "bench.db", db_url)
        try:
            run(base, 2, 1, 0.0, 0, 1)  # warm-up: classifier, flows and hints loaded once
            skip = steps.count()
            hz = healthz(base)
            load_before = os.getloadavg()[0]
            think = args.think if mode == "paced" else 0.0
            t0 = time.monotonic()
            out, errors = run(base, args.calls, args.rounds, think, args.seed, args.client_procs)
            wall = time.monotonic() - t0
            row: dict[str, float | str | int] = {
                "backend": backend
                if backend == "sqlite"
                else f"postgres, {web_workers} web + {args.workers} rq workers",
                "mode": mode,
                "classifier": classifier,
                "calls": args.calls * args.rounds,
                "webhooks": len(out.get("all", [])),
                "errors": len(errors),
                "wall": wall,
                "healthz": hz,
                "load_before": load_before,
                "load_after": os.getloadavg()[0],
            }
            for kind in ("all", "classify", "submit"):
                row[f"{kind}_p50"] = _pct(out.get(kind, []), 50)
                row[f"{kind}_p99"] = _pct(out.get(kind, []), 99)
            row["max"] = max(out.get("all", [0.0]))
            row["server"] = steps.summary(skip)
            print(
                f"{backend} · {mode} ({classifier} classifier): {row['calls']} calls, {row['webhooks']} webhooks, "
                f"{row['errors']} errors, all p50 {row['all_p50']:.1f} / p99 {row['all_p99']:.1f} ms, "
                f"classify p50 {row['classify_p50']:.1f} / p99 {row['classify_p99']:.1f} ms, "
                f"submit p50 {row['submit_p50']:.1f} / p99 {row['submit_p99']:.1f} ms, "
                f"max {row['max']:.1f} ms, healthz p50 {hz:.2f} ms, "
                f"load average {row['load_before']:.1f} → {row['load_after']:.1f}"
            )
            for e in errors[:5]:
                print("  error:", e)
            return row
        finally:
            stop(procs)
            if db_url:
                import psycopg

                with psycopg.connect(PG_ADMIN, autocommit=True) as c:
                    c.execute(f'DROP DATABASE IF EXISTS "{db_url.rsplit("/", 1)[1]}" WITH (FORCE)')


def append_docs(rows: list[dict[str, float | str | int]], args: argparse.Namespace) -> None:
    path = REPO / "docs" / "benchmarks.md"
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "## Voice webhooks (issue #5)",
        "",
        "`bench/ivr.py` starts the app under uvicorn on 127.0.0.1 — *sqlite*: one process, SQLite file, in-process",
        f"job thread; *postgres*: {args.web_workers} uvicorn worker process(es) plus {args.workers} RQ workers on "
        "PostgreSQL + Redis, as in production; the web tier and the workers each in a session of their own, as",
        "services are (see `start_server`) — with a",
        f"fresh server and database per row, and plays {args.calls} concurrent reporting calls × {args.rounds}",
        "rounds with signed webhooks (`CallSimulator`): greeting/menu → press 1 → speech, classified during the call",
        "and read back (*classify*) → press 1: report stored, pipeline job queued (*submit*) → poll step reads the",
        "case number → status callback. Latency is per webhook, measured by the client (the calls are spread over",
        f"{args.client_procs} client processes); the server-side time",
        "inside the handler (CallStep.elapsed_ms) is listed under the table.",
        f"*paced*: calls start spread over ~{4 * args.think:.0f} s and each caller takes {args.think} s (±50 %) to",
        "answer a prompt, and `<Pause>` is waited out, so 50 calls are in progress at once, as on a real line;",
        "*burst*: no pauses at all (a stress bound, not a call pattern). *active*: the classifier",
        "`get_classifier()` serves at the time of the run; *keyword*: the interim keyword classifier, to tell the",
        "IVR's own cost from the category model's.",
        "",
        "```",
        f".venv/bin/python bench/ivr.py --calls {args.calls} --rounds {args.rounds} --think {args.think} "
        f"--client-procs {args.client_procs} --backend {args.backend} --workers {args.workers} "
        f"--web-workers {args.web_workers} --classifier {args.classifier} --modes {args.modes} --append-docs",
        "```",
        "",
        f"{when}, machine load average when written {os.getloadavg()[0]:.1f} (2 shared cores):",
        "",
        "| backend | classifier | mode | calls | webhooks | errors | all p50 / p99 ms | classify p50 / p99 ms "
        "| submit p50 / p99 ms | max ms | /healthz p50 ms | load avg (1 min) before → after |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['backend']} | {r['classifier']} | {r['mode']} | {r['calls']} | {r['webhooks']} | {r['errors']} "
            f"| {r['all_p50']:.1f} / {r['all_p99']:.1f} "
            f"| {r['classify_p50']:.1f} / {r['classify_p99']:.1f} | {r['submit_p50']:.1f} / {r['submit_p99']:.1f} "
            f"| {r['max']:.1f} | {r['healthz']:.2f} | {r['load_before']:.1f} → {r['load_after']:.1f} |"
        )
    lines.append("")
    lines.append("Server-side time in the handler per step, p50/p99 ms:")
    lines.append("")
    for r in rows:
        lines.append(f"- {r['backend']} · {r['classifier']} · {r['mode']}: {r['server']}")
    lines += ["", "Reading it, and what is left to reach p99 < 100 ms: docs/telephony.md, “Measurements”."]
    section = "\n".join(lines) + "\n"
    marker = "## Voice webhooks"
    if marker in text:
        start = text.index(marker)
        nxt = text.find("\n## ", start + len(marker))
        text = text[:start] + section + ("\n" + text[nxt + 1 :] if nxt != -1 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text, encoding="utf-8")
    print(f"appended to {path}")


if __name__ == "__main__":
    main()
