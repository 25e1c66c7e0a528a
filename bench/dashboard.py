"""Server render time of the supervisors' dashboard (`GET /supervisor/?days=30` and `?days=90`), each of its
exports and the monthly 考核表, with many cases in PostgreSQL, against `GET /healthz` on the same server in
the same run; and how long the aggregates take to build from scratch and to refresh incrementally.

One run builds its own database (`hotline_bench_dashboard`, dropped at the end unless --keep) with the
console benchmark's generator (bench/console_data.py: cases, reports, 4–8 events each, set-based SQL),
then adds what the dashboard counts, also set-based: a 签收 clock for every 派遣 (stopped by the next
签收 / 反馈 / 退单, met for ~80 %), a 办结 clock for every 签收, ratings on the 回访 and 重开 events,
and 延期 and 督办 moves on a few per cent of the cases. Then `hotline dashboard refresh --full` (timed),
the hotspot sweep once, a fresh `hotline serve`, a supervisor signs in through /login, and one keep-alive
httpx client times every page in a shuffled order each round, after a warm-up. Last, 200 old cases get an
event and an incremental refresh is timed. Sizes grow in one database (100,000, then 900,000 more).

    python bench/dashboard.py --sizes 100000,1000000
    python bench/dashboard.py --sizes 100000 --requests 30 --keep
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
import console  # the console benchmark's server and timing helpers (bench/ is not a package)
import console_data as data

BIN = Path(sys.executable).parent
DB = "hotline_bench_dashboard"
USER, PASSWORD = "bench.supervisor", "bench-Dashboard-2026!"
CSRF = re.compile(r'name="csrf_token"\s+value="([^"]+)"')

# What the console's generator does not make: the clocks, the ratings, 延期 and 督办 (cases id > start).
_SIGN_CLOCKS = """
INSERT INTO sla_clock (case_id, kind, department_code, grade, policy_code, policy_version, limit_amount,
                       limit_unit, started_at, due_at, stopped_at, outcome)
SELECT d.case_id, 'sign', c.department_code, 'normal', 'default', 1, 1, 'working_hours', d.at,
       CASE WHEN n.at IS NULL THEN d.at + interval '2 hours' ELSE d.at + (n.at - d.at) * (0.8 + random()) END,
       n.at, NULL
FROM case_event d JOIN "case" c ON c.id = d.case_id
LEFT JOIN LATERAL (SELECT e.at, e.action FROM case_event e WHERE e.case_id = d.case_id AND e.at > d.at
                   AND e.action IN ('accept', 'handle', 'return') ORDER BY e.at LIMIT 1) n ON true
WHERE d.action = 'dispatch' AND d.case_id > %(start)s
"""
_HANDLE_CLOCKS = """
INSERT INTO sla_clock (case_id, kind, department_code, grade, policy_code, policy_version, limit_amount,
                       limit_unit, started_at, due_at, stopped_at, outcome)
SELECT a.case_id, 'handle', c.department_code, 'normal', 'default', 1, 2, 'working_days', a.at,
       CASE WHEN n.at IS NULL THEN a.at + interval '2 days' ELSE a.at + (n.at - a.at) * (0.7 + random()) END,
       n.at, NULL
FROM case_event a JOIN "case" c ON c.id = a.case_id
LEFT JOIN LATERAL (SELECT e.at FROM case_event e WHERE e.case_id = a.case_id AND e.at > a.at
                   AND e.action IN ('handle', 'return') ORDER BY e.at LIMIT 1) n ON true
WHERE a.action = 'accept' AND a.case_id > %(start)s
"""
_OUTCOMES = """
UPDATE sla_clock k SET outcome = CASE
    WHEN EXISTS (SELECT 1 FROM case_event e WHERE e.case_id = k.case_id AND e.at = k.stopped_at
                 AND e.action = 'return') THEN 'returned'
    WHEN k.stopped_at <= k.due_at THEN 'met' ELSE 'late' END
WHERE k.stopped_at IS NOT NULL AND k.case_id > %(start)s
"""
_RATINGS = """
UPDATE case_event SET data = CASE WHEN action = 'reopen'
        THEN json_build_object('rating', '不满意', 'rating_code', 'unsatisfied', 'channel', 'voice_survey')
        WHEN random() < 0.85 THEN json_build_object('rating', '满意', 'rating_code', 'satisfied', 'channel', 'web')
        ELSE json_build_object('rating', '基本满意', 'rating_code', 'basic', 'channel', 'web') END
WHERE action IN ('survey', 'reopen') AND case_id > %(start)s
"""
_MOVES = """
INSERT INTO case_event (case_id, at, actor, action, from_status, to_status, reason, data)
SELECT a.case_id, a.at + interval '1 hour', m.actor, m.action, 'in_progress', 'in_progress', m.reason,
       CASE m.action WHEN 'escalate' THEN json_build_object('supervision', m.card) ELSE
            json_build_object('working_days', 2) END
FROM case_event a
JOIN (VALUES ('extend', 'agent:bench', '现场施工需要时间', NULL, 0.05),
             ('escalate', 'system:escalation', '办结时限已过，督办黄牌', 'yellow', 0.04),
             ('escalate', 'system:escalation', '办结时限已过，督办红牌', 'red', 0.015))
     AS m(action, actor, reason, card, share)
  ON random() < m.share
WHERE a.action = 'accept' AND a.case_id > %(start)s
"""


def add_dashboard_rows(db: str, start: int) -> dict[str, float]:
    took: dict[str, float] = {}
    with psycopg.connect(data.db_url(db)) as conn:
        for label, sql in [("sign clocks", _SIGN_CLOCKS), ("handle clocks", _HANDLE_CLOCKS),
                           ("outcomes", _OUTCOMES), ("ratings", _RATINGS), ("extend/escalate", _MOVES)]:  # fmt: skip
            t = time.perf_counter()
            conn.execute(sql, {"start": start})
            took[label] = time.perf_counter() - t
        conn.execute(
            "UPDATE \"case\" c SET supervision = e.data->>'supervision', overdue = true FROM case_event e "
            "WHERE e.case_id = c.id AND e.action = 'escalate' AND c.id > %(start)s "
            "AND c.status NOT IN ('closed', 'rejected', 'merged')",
            {"start": start},
        )
    with psycopg.connect(data.db_url(db), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    return took


def hotline(db: str, *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        [str(BIN / "hotline"), *args], input=stdin, env=console.server_env(db), check=True,
        capture_output=True, text=True,
    )  # fmt: skip
    return done.stdout.strip()


def sweep_hotspots(db: str) -> None:
    """What the worker's periodic HOTSPOTS job does (the dashboard shows the sweep's hotspots), no SMS."""
    env = {**console.server_env(db), "HOTLINE_HOTSPOT_SMS": "false"}
    code = "from routing.hotspot_alerts import sweep_hotspots; sweep_hotspots(force=True)"
    subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True)


def touch_old_cases(db: str, k: int = 200) -> None:
    """A note on `k` cases of the last 90 days: their days must be recomputed by the next refresh."""
    with psycopg.connect(data.db_url(db)) as conn:
        conn.execute(
            "INSERT INTO case_event (case_id, at, actor, action, reason, data) "
            "SELECT id, now() - interval '1 hour', 'agent:bench', 'note', '补充说明', '{}'::json FROM "
            "(SELECT id FROM \"case\" WHERE created_at > now() - interval '90 days' ORDER BY random() LIMIT %(k)s) x",
            {"k": k},
        )


def sign_in(client: httpx.Client) -> None:
    page = client.get("/login")
    token = CSRF.search(page.text)
    if token is None:
        raise SystemExit("no csrf_token field on /login")
    answer = client.post("/login", data={"username": USER, "password": PASSWORD, "csrf_token": token.group(1)})
    if answer.status_code != 303:
        raise SystemExit(f"sign-in refused: {answer.status_code}")


PAGES: dict[str, str] = {
    "healthz (baseline)": "/healthz",
    "dashboard 30 d": "/supervisor/?days=30",
    "dashboard 90 d": "/supervisor/?days=90",
    "dashboard today": "/supervisor/?days=1",
    "export intake.xlsx": "/supervisor/export/intake.xlsx?days=30",
    "export departments.csv": "/supervisor/export/departments.csv?days=30",
    "export departments.xlsx": "/supervisor/export/departments.xlsx?days=30",
    "export streets.xlsx": "/supervisor/export/streets.xlsx?days=30",
    "export overdue.csv": "/supervisor/export/overdue.csv",
    "export supervision.xlsx": "/supervisor/export/supervision.xlsx",
    "monthly.xlsx": "/supervisor/reports/monthly.xlsx?month={month}",
}


def measure(db: str, size: int, args: argparse.Namespace) -> dict[str, Any]:
    port = console.free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = Path(tempfile.gettempdir()) / f"bench-dashboard-{size}.log"
    month = time.strftime("%Y-%m")
    with log_path.open("wb") as log:
        proc = console.start_server(db, port, log, False)
        try:
            console.wait_ready(base, proc)
            with httpx.Client(base_url=base, timeout=60) as client:
                sign_in(client)
                paths = {k: v.format(month=month) for k, v in PAGES.items()}
                series = console.time_pages(client, paths, args.requests, args.warmup)
        finally:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
    return series


def report(size: int, series: dict[str, Any], args: argparse.Namespace) -> None:
    b50 = console.pct(series["healthz (baseline)"].times, 50)
    load = os.getloadavg()[0]
    print(f"{size:,} cases; load average {load:.2f}; {args.requests} timed rounds after {args.warmup} warm-up")
    print("| page | p50 ms | p95 ms | p50 / baseline p50 | bytes | non-200 |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, s in series.items():
        p50, p95 = console.pct(s.times, 50), console.pct(s.times, 95)
        size_b = int(sum(s.sizes) / max(len(s.sizes), 1))
        print(f"| {name} | {p50 * 1000:.1f} | {p95 * 1000:.1f} | {p50 / b50:.1f}× | {size_b:,} | {s.bad or ''} |")
    sys.stdout.flush()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="100000,1000000", help="total cases at each measurement, ascending")
    ap.add_argument("--requests", type=int, default=40, help="timed rounds per size (every page once a round)")
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--keep", action="store_true", help="keep the database afterwards")
    ap.add_argument("--again", action="store_true", help="only time the pages again on a database kept by --keep")
    args = ap.parse_args()
    if args.again:
        os.environ.pop("HOTLINE_REDIS_URL", None)
        with psycopg.connect(data.db_url(DB)) as conn:
            have = int(conn.execute('SELECT count(*) FROM "case"').fetchone()[0])  # type: ignore[index]
        report(have, measure(DB, have, args), args)
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    data.create_database(DB)
    os.environ.pop("HOTLINE_REDIS_URL", None)
    hotline(DB, "users", "create", USER, "--role", "supervisor", "--password-stdin", stdin=PASSWORD + "\n")
    have = 0
    try:
        for size in sizes:
            with psycopg.connect(data.db_url(DB)) as conn:
                start = int(conn.execute('SELECT coalesce(max(id), 0) FROM "case"').fetchone()[0])  # type: ignore[index]
            t = time.perf_counter()
            data.generate(DB, size - have)
            extra = add_dashboard_rows(DB, start)
            have = size
            made = time.perf_counter() - t
            t = time.perf_counter()
            out = hotline(DB, "dashboard", "refresh", "--full")
            full = time.perf_counter() - t
            sweep_hotspots(DB)
            series = measure(DB, size, args)
            touch_old_cases(DB)
            t = time.perf_counter()
            inc_out = hotline(DB, "dashboard", "refresh")
            inc = time.perf_counter() - t
            print(
                f"\n## {size:,} cases (data {made:.0f} s: "
                + ", ".join(f"{k} {v:.1f} s" for k, v in extra.items())
                + ")"
            )
            print(f"full refresh: {full:.1f} s ({out}); incremental after 200 touched cases: {inc:.1f} s ({inc_out})")
            report(size, series, args)
    finally:
        if not args.keep:
            data.drop_database(DB)


if __name__ == "__main__":
    main()
