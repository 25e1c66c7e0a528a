"""Server render time of the agent console's queue page (`GET /console/`) and case page
(`GET /console/cases/{number}`) with many cases in PostgreSQL, against `GET /healthz` on the same server in
the same run.

One run builds its own database (`hotline_bench_console`, dropped at the end unless --keep), migrated and
seeded as the app does, and grows it through the sizes given (bench/console_data.py: set-based SQL; VACUUM
ANALYZE after each step). At each size a fresh `hotline serve` (one uvicorn process, database sessions, the
embedded in-process job thread) runs on the database, an agent signs in through the /login form, and one
keep-alive httpx client times the three requests interleaved in a shuffled order each round, after a
warm-up. The case page is asked for a case held for review or open, a different random one each time.
A time is the client's, over loopback: from sending the request to having read the whole body. A
`Server-Timing` header, when the app sends one, is recorded too. Sequential scans of the big tables
during the timed rounds (pg_stat_user_tables) are listed: a page whose query is not served by an index
shows there first.

    python bench/console.py --sizes 100000,1000000
    python bench/console.py --sizes 100000,1000000 --requests 300 --warmup 30 --keep
    python bench/console.py --sizes 100000 --sql-log /tmp/console-sql.log   # the pages' SQL, for EXPLAIN
"""

from __future__ import annotations

import argparse
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
import console_data as data  # the generator beside this file (bench/ is not a package)

ROOT = data.ROOT
BIN = Path(sys.executable).parent
AGENT, PASSWORD = "bench.agent", "bench-Console-2026!"
BIG_TABLES = ("case", "report", "case_event", "sms_message", "call_session")
CSRF = re.compile(r'name="csrf_token"\s+value="([^"]+)"')
# Asked for by the server process when --sql-log is given: every statement SQLAlchemy sends, to stderr.
SQL_LOGGING = (
    "import logging, sys; from hotline.cli import app; "
    "logging.getLogger('sqlalchemy.engine').setLevel(logging.INFO); sys.argv[0] = 'hotline'; app()"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def server_timing(header: str | None) -> float | None:
    """The total of a Server-Timing header's `dur` values (ms), or None without one."""
    if not header:
        return None
    durs = [float(m) for m in re.findall(r"dur=([0-9.]+)", header)]
    return sum(durs) if durs else None


@dataclass
class Series:
    times: list[float] = field(default_factory=list)  # seconds, client side
    server: list[float] = field(default_factory=list)  # ms, from Server-Timing
    sizes: list[int] = field(default_factory=list)
    bad: dict[int, int] = field(default_factory=dict)  # status → count, anything but 200

    def add(self, seconds: float, response: httpx.Response) -> None:
        self.times.append(seconds)
        self.sizes.append(len(response.content))
        if (st := server_timing(response.headers.get("server-timing"))) is not None:
            self.server.append(st)
        if response.status_code != 200:
            self.bad[response.status_code] = self.bad.get(response.status_code, 0) + 1


CODE = ROOT  # the checkout the server runs (--code)


def server_env(db: str) -> dict[str, str]:
    env = {
        **os.environ,
        "PYTHONPATH": str(CODE),
        "HOTLINE_DATABASE_URL": data.db_url(db, "postgresql+psycopg"),
        "HOTLINE_LOG_LEVEL": "WARNING",
        "HOTLINE_SWEEP_DELAY_SECONDS": "100000000",  # the generated pending reports stay pending
        "HOTLINE_MIGRATE_ON_START": "false",
    }
    env.pop("HOTLINE_REDIS_URL", None)  # the embedded default: sessions in the database, jobs in-process
    return env


def create_agent(db: str) -> None:
    subprocess.run(
        [str(BIN / "hotline"), "users", "create", AGENT, "--role", "agent", "--password-stdin"],
        input=PASSWORD + "\n",
        env=server_env(db),
        check=True,
        capture_output=True,
        text=True,
    )


def start_server(db: str, port: int, log: IO[bytes], sql_log: bool) -> subprocess.Popen[bytes]:
    cmd = [str(BIN / "hotline"), "serve", "--port", str(port)]
    if sql_log:
        cmd = [sys.executable, "-c", SQL_LOGGING, "serve", "--port", str(port)]
    return subprocess.Popen(cmd, env=server_env(db), stdout=log, stderr=subprocess.STDOUT)


def wait_ready(base: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited with {proc.returncode}; see its log")
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"{base} did not become ready")


def sign_in(client: httpx.Client) -> None:
    """The agent signs in as a browser does: the form's CSRF token, then the POST; the cookies stay."""
    page = client.get("/login")
    token = CSRF.search(page.text)
    if token is None:
        raise SystemExit("no csrf_token field on /login")
    answer = client.post("/login", data={"username": AGENT, "password": PASSWORD, "csrf_token": token.group(1)})
    if answer.status_code != 303:
        raise SystemExit(f"sign-in refused: {answer.status_code}")


def case_numbers(db: str, k: int = 500) -> list[str]:
    """Numbers of cases an agent opens from the queue: held for review, or open work."""
    with psycopg.connect(data.db_url(db)) as conn:
        rows = conn.execute(
            "(SELECT number FROM \"case\" WHERE needs_review AND status = 'registered' ORDER BY random() LIMIT %(k)s)"
            " UNION ALL (SELECT number FROM \"case\" WHERE status IN ('dispatched', 'in_progress', 'returned',"
            " 'handled', 'reopened') ORDER BY random() LIMIT %(k)s)",
            {"k": k},
        ).fetchall()
    return [r[0] for r in rows]


def seq_scans(db: str) -> dict[str, tuple[int, int]]:
    with psycopg.connect(data.db_url(db)) as conn:
        rows = conn.execute(
            "SELECT relname, seq_scan, seq_tup_read FROM pg_stat_user_tables WHERE relname = ANY(%s)",
            (list(BIG_TABLES),),
        ).fetchall()
    return {r[0]: (int(r[1]), int(r[2])) for r in rows}


def time_pages(client: httpx.Client, paths: dict[str, Any], requests: int, warmup: int) -> dict[str, Series]:
    """`warmup` untimed rounds, then `requests` timed rounds; each round asks every path once, shuffled."""
    series = {name: Series() for name in paths}
    rng = random.Random(14)
    for i in range(warmup + requests):
        order = list(paths)
        rng.shuffle(order)
        for name in order:
            target = paths[name]
            url = target(rng) if callable(target) else target
            t = time.perf_counter()
            response = client.get(url)
            elapsed = time.perf_counter() - t
            if i >= warmup:
                series[name].add(elapsed, response)
            elif response.status_code != 200:
                raise SystemExit(f"{url} answered {response.status_code} in the warm-up: {response.text[:300]}")
    return series


def measure(db: str, size: int, args: argparse.Namespace) -> dict[str, Any]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = Path(args.sql_log or Path(tempfile.gettempdir()) / f"bench-console-{size}.log")
    numbers = case_numbers(db)
    with log_path.open("wb") as log:
        proc = start_server(db, port, log, bool(args.sql_log))
        try:
            wait_ready(base, proc)
            with httpx.Client(base_url=base, timeout=30) as client:
                sign_in(client)
                paths: dict[str, Any] = {
                    "healthz": "/healthz",
                    "queue": args.queue_path,
                    "case": lambda rng: args.case_path.format(number=rng.choice(numbers)),
                }
                before = seq_scans(db)
                load = os.getloadavg()[0]
                series = time_pages(client, paths, args.requests, args.warmup)
                after = seq_scans(db)
        finally:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
    scans = {t: (after[t][0] - before[t][0], after[t][1] - before[t][1]) for t in after}
    return {"series": series, "scans": scans, "load": (load, os.getloadavg()[0]), "log": str(log_path)}


def row(size: int, result: dict[str, Any]) -> str:
    s: dict[str, Series] = result["series"]
    h50 = statistics.median(s["healthz"].times)
    cells = [f"{size:,}", f"{h50 * 1e3:.2f}"]
    for name in ("queue", "case"):
        t = s[name].times
        cells += [f"{statistics.median(t) * 1e3:.1f}", f"{pct(t, 95) * 1e3:.1f}", f"{statistics.median(t) / h50:.1f}"]
        cells.append(f"{pct(t, 95) / h50:.1f}")
    load = result["load"]
    cells.append(f"{load[0]:.1f} → {load[1]:.1f}")
    return "| " + " | ".join(cells) + " |"


def details(size: int, result: dict[str, Any]) -> list[str]:
    out = []
    for name, s in result["series"].items():
        line = f"  {size:,} {name}: {len(s.times)} timed, body {statistics.median(s.sizes):,.0f} B"
        line += f", max {max(s.times) * 1e3:.1f} ms"
        if s.server:
            line += f", Server-Timing p50/p95 {statistics.median(s.server):.1f}/{pct(s.server, 95):.1f} ms"
        if s.bad:
            line += f", NOT 200: {s.bad}"
        out.append(line)
    scans = ", ".join(f"{t} {n} scans / {rows:,} rows" for t, (n, rows) in result["scans"].items())
    out.append(f"  {size:,} sequential scans during the timed rounds: {scans}")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="100000,1000000", help="case counts, ascending: the database grows")
    ap.add_argument("--requests", type=int, default=300, help="timed rounds (each asks every page once)")
    ap.add_argument("--warmup", type=int, default=30)
    ap.add_argument("--db", default=data.DEFAULT_DB)
    ap.add_argument("--keep", action="store_true", help="keep the database at the end (and reuse it: --reuse)")
    ap.add_argument("--reuse", action="store_true", help="measure the database as it is (no generation)")
    ap.add_argument("--queue-path", default="/console/")
    ap.add_argument("--case-path", default="/console/cases/{number}")
    ap.add_argument("--sql-log", help="log the server's SQL statements to this file (slows it: not for figures)")
    ap.add_argument("--extra-sql", help="a statement run on the migrated database before generation (an index to try)")
    ap.add_argument("--code", type=Path, default=ROOT, help="checkout whose app is served (default: this one)")
    args = ap.parse_args()
    global CODE
    CODE = args.code.resolve()
    sizes = [int(x) for x in args.sizes.split(",")]
    lines, notes = [], []
    try:
        have = 0
        if not args.reuse:
            data.create_database(args.db, CODE)
            create_agent(args.db)
            if args.extra_sql:  # e.g. an index under consideration, before any case exists
                with psycopg.connect(data.db_url(args.db), autocommit=True) as conn:
                    conn.execute(args.extra_sql)
        else:
            have = data.counts(args.db)["cases"]
        for size in sizes:
            if size > have:
                t = time.perf_counter()
                took = data.generate(args.db, size - have)
                notes.append(
                    f"generated {size - have:,} cases in {time.perf_counter() - t:.0f} s ("
                    + ", ".join(f"{k} {v:.1f} s" for k, v in took.items())
                    + f"); database now {data.counts(args.db)}"
                )
                print(notes[-1], flush=True)
                have = size
            result = measure(args.db, size, args)
            lines.append(row(size, result))
            notes += details(size, result)
            print(lines[-1], *details(size, result), sep="\n", flush=True)
    finally:
        if not args.keep:
            data.drop_database(args.db)
    print(f"\n{args.requests} timed rounds after {args.warmup} warm-up rounds per size; ms, client side over loopback.")
    print(
        "| cases | /healthz p50 | queue p50 | queue p95 | queue p50 × healthz | queue p95 × healthz "
        "| case p50 | case p95 | case p50 × healthz | case p95 × healthz | load avg |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    print(*lines, sep="\n")
    print(*notes, sep="\n")


if __name__ == "__main__":
    main()
