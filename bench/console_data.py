"""Cases in bulk for the console benchmark: a PostgreSQL database of its own, migrated and seeded as the app
does, then N cases made by set-based SQL (one INSERT … SELECT per table), so a million take minutes, not
hours. The database can be grown (100,000, measure, then 900,000 more), and what it holds looks like the
app's own rows:

- case numbers 12319-YYYYMMDD-NNNNNN, the day in city time and the sequence continuing `case_counter`
  (which is brought up to date), so every number is unique and the app's next case follows on;
- created over ~2 years; cases older than a month almost all closed (some rejected or merged), the last
  month spread over the lifecycle, and ~0.3 % held for an agent (`registered`, `needs_review`), all recent;
- real category codes (matters, a few far more common than the rest) with the department the routing
  rules give them, real grid codes with a point inside the grid, Chinese text naming a place of the grid;
- one report per case (voice, web, SMS, camera, Open311, API; phones +86138…, from a pool so residents
  repeat), a few failed or pending reports without a case;
- the inbound text of each SMS report and the call of each voice report (sms_message, call_session);
- 4–8 case events per case along a legal path of the lifecycle table (`PATHS`, checked by a unit test).

    .venv/bin/python bench/console_data.py --cases 100000          # a fresh hotline_bench_console
    .venv/bin/python bench/console_data.py --cases 900000 --grow   # 900,000 more in the same database
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from routing.conditions import RoutingInputs
from routing.rules import DEFAULT_RULES, RuleSetSpec, load_rule_file, route

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_DB = "hotline_bench_console"
TIMEZONE = "Asia/Shanghai"  # the kernel's default HOTLINE_TIMEZONE: case numbers carry the city's day
PREFIX = "12319"
# Categories are far from equally common (暴露垃圾 and 占道经营 dwarf most): the i-th of a fixed shuffled
# order is drawn with probability falling as a power law; at 3 the most common has ~18 % of all cases.
CATEGORY_SKEW = 3
HELD_SHARE = 0.003  # held for an agent: a few hundred per 100,000 cases, all from the last three days
FAILED_PER_100K = 30  # reports whose processing failed, waiting for an operator
PENDING_PER_100K = 5

# Complaints as residents phrase them; a place of the case's grid goes in front.
PHRASES = [
    "附近垃圾堆了好几天没人清理，气味很大",
    "路边污水井盖不见了，晚上很危险",
    "门口有人占道经营，车都过不去",
    "工地半夜施工扰民，影响休息",
    "的路灯不亮已经一个星期了",
    "墙上非法小广告贴满了",
    "人行道的地砖坏了好几块，老人容易摔倒",
    "有餐馆油烟直排，楼上没法开窗",
    "绿化带里的树被人砍了",
    "共享单车乱停乱放堵住盲道",
    "下水道堵了，污水漫到路面",
    "渣土车沿路撒漏，尘土很大",
]

# Lifecycle paths a generated case has walked: (action, from status, to status, who). The first three
# steps are the pipeline's (open, classify, register), as routing.pipeline writes them.
_START = [
    ("open", None, "reported", "system"),
    ("classify", None, None, "system"),
    ("register", "reported", "registered", "system"),
]
_DISPATCH = ("dispatch", "registered", "dispatched", "system")
PATHS: dict[str, list[tuple[str, str | None, str | None, str]]] = {
    "held": [*_START, ("hold_for_agent", None, None, "system")],
    "dispatched": [*_START, _DISPATCH],
    "in_progress": [*_START, _DISPATCH, ("accept", "dispatched", "in_progress", "dept")],
    "returned": [*_START, _DISPATCH, ("return", "dispatched", "returned", "dept")],
    "handled": [
        *_START,
        _DISPATCH,
        ("accept", "dispatched", "in_progress", "dept"),
        ("handle", "in_progress", "handled", "dept"),
    ],
    "verified": [
        *_START,
        _DISPATCH,
        ("accept", "dispatched", "in_progress", "dept"),
        ("handle", "in_progress", "handled", "dept"),
        ("verify", "handled", "verified", "grid"),
    ],
    "surveyed": [
        *_START,
        _DISPATCH,
        ("handle", "dispatched", "handled", "dept"),
        ("verify", "handled", "verified", "grid"),
        ("survey", "verified", "surveyed", "agent"),
    ],
    "reopened": [
        *_START,
        _DISPATCH,
        ("handle", "dispatched", "handled", "dept"),
        ("verify", "handled", "verified", "grid"),
        ("reopen", "verified", "reopened", "agent"),
    ],
    "closed": [
        *_START,
        _DISPATCH,
        ("accept", "dispatched", "in_progress", "dept"),
        ("handle", "in_progress", "handled", "dept"),
        ("verify", "handled", "verified", "grid"),
        ("close", "verified", "closed", "system"),
    ],
    "closed_surveyed": [
        *_START,
        _DISPATCH,
        ("handle", "dispatched", "handled", "dept"),
        ("verify", "handled", "verified", "grid"),
        ("survey", "verified", "surveyed", "agent"),
        ("close", "surveyed", "closed", "system"),
    ],
    "rejected": [*_START, ("reject", "registered", "rejected", "agent")],
    "merged": [*_START, ("merge", "registered", "merged", "agent")],
}

# Which path a case took, by its age: cumulative shares (the rest of the last entry).
RECENT_MIX = [
    ("dispatched", 0.15),
    ("in_progress", 0.38),
    ("returned", 0.41),
    ("handled", 0.55),
    ("verified", 0.65),
    ("surveyed", 0.70),
    ("reopened", 0.72),
    ("closed", 0.87),
    ("closed_surveyed", 1.0),
]
OLD_MIX = [("closed", 0.40), ("closed_surveyed", 0.96), ("rejected", 0.98), ("merged", 0.99), ("in_progress", 1.0)]
CHANNELS = [("voice", 0.45), ("web", 0.65), ("sms", 0.75), ("camera", 0.85), ("open311", 0.90), ("api", 1.0)]


def final_status(path: str) -> str:
    """The status a case is left in after walking `path` (held cases stay registered)."""
    last = next(to for _a, _f, to, _w in reversed(PATHS[path]) if to is not None)
    return last


def sql_pick(mix: list[tuple[str, float]], var: str) -> str:
    """A CASE expression choosing a name of `mix` (cumulative shares) by the random value in column `var`."""
    arms = " ".join(f"WHEN {var} < {share!r} THEN '{name}'" for name, share in mix[:-1])
    return f"(CASE {arms} ELSE '{mix[-1][0]}' END)"


def department_for(code: str, rules: RuleSetSpec) -> str | None:
    """The department the rules send a category a person chose to (the matcher itself), or None."""
    return route(rules, RoutingInputs(category_code=code, category_confidence=1.0)).department_code


@dataclass(frozen=True)
class Reference:
    categories: list[str]  # matter codes that routing sends to a department
    departments: list[str]  # the department of each category, same order
    grids: list[str]
    places: list[str]  # a place name of each grid
    lon: list[float]  # centre of each grid's bounding box
    lat: list[float]


def load_reference(conn: psycopg.Connection[Any]) -> Reference:
    """Category codes and grids from the seeded tables; departments from the routing rules; grid centres
    and places from the grid file the seed read."""
    rules = load_rule_file(DEFAULT_RULES)
    known_departments = {r[0] for r in conn.execute("SELECT code FROM department")}
    cats: list[str] = []
    depts: list[str] = []
    for (code,) in conn.execute("SELECT code FROM category WHERE kind = '事件' AND active ORDER BY code"):
        dept = department_for(code, rules)
        if dept is not None and dept in known_departments:
            cats.append(code)
            depts.append(dept)
    seeded = {r[0] for r in conn.execute("SELECT code FROM grid")}
    grids, places, lon, lat = [], [], [], []
    with (ROOT / "cases" / "data" / "grids.csv").open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if row["grid_code"] in seeded:
                grids.append(row["grid_code"])
                places.append((row["places"].split("|") or [row["community"]])[0] or row["community"])
                lon.append((float(row["min_lon"]) + float(row["max_lon"])) / 2)
                lat.append((float(row["min_lat"]) + float(row["max_lat"])) / 2)
    order = list(range(len(cats)))
    random.Random(12319).shuffle(order)  # which categories are the common ones: fixed, not by code order
    cats, depts = [cats[i] for i in order], [depts[i] for i in order]
    if not cats or not grids:
        raise SystemExit("reference data missing: was the database seeded?")
    return Reference(cats, depts, grids, places, lon, lat)


def db_url(name: str, driver: str = "postgresql") -> str:
    return f"{driver}://postgres@127.0.0.1:5432/{name}"


def create_database(name: str, code: Path = ROOT) -> None:
    """Drop and create `name` (only this benchmark's own database), then migrate and seed it with the app's
    own `hotline db upgrade` (Alembic migrations + reference data, as `prepare_database` does on start)."""
    if not name.startswith("hotline_bench_"):
        raise SystemExit(f"refusing to drop {name!r}: the benchmark only manages databases named hotline_bench_*")
    with psycopg.connect(ADMIN_URL, autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        c.execute(f'CREATE DATABASE "{name}"')
    env = {**os.environ, "HOTLINE_DATABASE_URL": db_url(name, "postgresql+psycopg"), "HOTLINE_LOG_LEVEL": "WARNING"}
    env["PYTHONPATH"] = str(code)  # that checkout's migrations
    subprocess.run([str(BIN / "hotline"), "db", "upgrade"], env=env, check=True, capture_output=True)


def drop_database(name: str) -> None:
    if name.startswith("hotline_bench_"):
        with psycopg.connect(ADMIN_URL, autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


_GEN = """
CREATE TEMP TABLE gen ON COMMIT DROP AS
WITH draw AS (
    SELECT random() AS held_u, random() AS age_u, random() AS path_u, random() AS chan_u,
           random() AS conf_u, floor(power(random(), %(skew)s) * %(ncat)s)::int + 1 AS cat_i,
           floor(random() * %(ngrid)s)::int + 1 AS grid_i, floor(random() * %(nphrase)s)::int + 1 AS phrase_i,
           floor(random() * %(phones)s)::bigint AS phone_i, random() AS span_u
    FROM generate_series(1, %(n)s)
), timed AS (
    SELECT *, held_u < %(held)s AS held,
           CASE WHEN held_u < %(held)s THEN now() - age_u * interval '3 days'
                ELSE now() - age_u * interval '730 days' END AS created_at
    FROM draw
), pathed AS (
    SELECT *, CASE WHEN held THEN 'held'
                   WHEN created_at > now() - interval '30 days' THEN {recent}
                   ELSE {old} END AS path,
           to_char(created_at AT TIME ZONE %(tz)s, 'YYYYMMDD') AS day
    FROM timed
)
SELECT %(start)s + row_number() OVER (ORDER BY p.created_at) AS id, p.*,
       coalesce(cc.last, 0) + row_number() OVER (PARTITION BY p.day ORDER BY p.created_at) AS seq,
       {channel} AS channel
FROM pathed p LEFT JOIN case_counter cc ON cc.day = p.day
"""

_CASES = """
INSERT INTO "case" (id, number, title, category_code, category_confidence, grid_code, grid_confidence,
                    grid_source, grade, department_code, status, needs_review, dispatch_deadline,
                    handle_deadline, created_at, updated_at, closed_at)
SELECT g.id, %(prefix)s || '-' || g.day || '-' || lpad(g.seq::text, 6, '0'),
       left((%(places)s::text[])[g.grid_i] || (%(phrases)s::text[])[g.phrase_i], 60),
       (%(cats)s::text[])[g.cat_i],
       CASE WHEN g.held THEN 0.30 + 0.3 * g.conf_u ELSE 0.70 + 0.29 * g.conf_u END,
       (%(grids)s::text[])[g.grid_i], 0.6 + 0.4 * g.conf_u,
       CASE WHEN g.channel = 'camera' THEN 'camera' WHEN g.channel = 'voice' THEN 'text' ELSE 'gps' END,
       'normal', (%(depts)s::text[])[g.cat_i], s.status, g.held,
       CASE WHEN g.held THEN NULL ELSE g.created_at + interval '1 hour' END,
       CASE WHEN g.held THEN NULL ELSE g.created_at + interval '2 days' END,
       g.created_at, g.created_at + g.span, CASE WHEN s.status = 'closed' THEN g.created_at + g.span END
FROM (SELECT *, least(now() - created_at, interval '9 days') * (0.2 + 0.8 * span_u) AS span FROM gen) g
JOIN bench_path_status s ON s.path = g.path
"""

_REPORTS = """
INSERT INTO report (channel, external_id, received_at, raw, text, phone, lat, lon, address, attachments,
                    hints, case_id, processing_status, attempts)
SELECT g.channel, 'bench-' || g.id, g.created_at, '{}'::json,
       (%(places)s::text[])[g.grid_i] || (%(phrases)s::text[])[g.phrase_i],
       CASE WHEN g.channel = 'camera' THEN NULL ELSE '+86138' || lpad(g.phone_i::text, 8, '0') END,
       (%(lat)s::float8[])[g.grid_i] + (g.conf_u - 0.5) * 0.004,
       (%(lon)s::float8[])[g.grid_i] + (g.span_u - 0.5) * 0.004,
       '黄州区' || (%(places)s::text[])[g.grid_i],
       CASE WHEN g.channel IN ('camera', 'web') THEN json_build_array('bench/' || g.id || '.jpg') ELSE '[]'::json END,
       CASE WHEN g.channel = 'camera' THEN json_build_object('grid_code', (%(grids)s::text[])[g.grid_i])
            ELSE '{}'::json END,
       g.id, 'done', 1
FROM gen g ORDER BY g.id
"""

_EVENTS = """
INSERT INTO case_event (case_id, at, actor, action, from_status, to_status, reason, data)
SELECT c.id,
       CASE WHEN p.who = 'system' AND p.action <> 'close' THEN c.created_at + p.step * interval '150 milliseconds'
            ELSE c.created_at + (c.updated_at - c.created_at) * p.step / p.steps END,
       CASE p.who WHEN 'system' THEN 'system:pipeline' WHEN 'dept' THEN 'dept:' || c.department_code || '_staff'
                  WHEN 'grid' THEN 'grid:worker' || right(c.grid_code, 3) ELSE 'agent:bench' END,
       p.action, p.from_status, p.to_status,
       CASE p.action WHEN 'hold_for_agent' THEN '分类置信度低于阈值' WHEN 'return' THEN '非本单位职责'
                     WHEN 'reject' THEN '重复诉求' WHEN 'reopen' THEN '市民回访不满意' END,
       CASE p.action
         WHEN 'open' THEN json_build_object('title', c.title)
         WHEN 'classify' THEN json_build_object(
             'category_code', c.category_code, 'category_confidence', round(c.category_confidence::numeric, 3),
             'category_top3', json_build_array(
                 json_build_array(c.category_code, round(c.category_confidence::numeric, 3))),
             'grid_code', c.grid_code, 'grid_confidence', round(c.grid_confidence::numeric, 3),
             'grid_source', c.grid_source, 'community_code', left(c.grid_code, 12), 'model_version', 'bench')
         WHEN 'register' THEN json_build_object('channel', g.channel)
         WHEN 'dispatch' THEN json_build_object('department_code', c.department_code,
             'dispatch_deadline', c.dispatch_deadline, 'handle_deadline', c.handle_deadline)
         ELSE '{}'::json END
FROM gen g JOIN "case" c ON c.id = g.id JOIN bench_path p ON p.path = g.path
ORDER BY c.id, p.step
"""


# What the telephony channel keeps beside its reports: the inbound text, and the call with its duration.
_SMS = """
INSERT INTO sms_message (message_sid, phone, body, media, kind, report_id, reply, received_at)
SELECT 'SMbench' || r.id, r.phone, r.text, '[]'::json, 'report', r.id, '已收到您的反映，我们会尽快处理。', r.received_at
FROM gen g JOIN report r ON r.case_id = g.id WHERE g.channel = 'sms'
"""
_CALLS = """
INSERT INTO call_session (call_sid, direction, flow, from_phone, to_phone, status, context, turn, report_id,
                          case_id, duration_seconds, started_at, updated_at, ended_at)
SELECT 'CAbench' || r.id, 'inbound', 'main', r.phone, '+867138012319', 'completed', '{}'::json, 4, r.id, g.id,
       60 + (g.span_u * 180)::int, r.received_at - interval '2 minutes', r.received_at,
       r.received_at + interval '10 seconds'
FROM gen g JOIN report r ON r.case_id = g.id WHERE g.channel = 'voice'
"""


def _path_tables(conn: psycopg.Connection[Any]) -> None:
    conn.execute(
        "CREATE TEMP TABLE bench_path (path text, step int, steps int, action text, from_status text,"
        " to_status text, who text) ON COMMIT DROP"
    )
    conn.execute("CREATE TEMP TABLE bench_path_status (path text, status text) ON COMMIT DROP")
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO bench_path VALUES (%s, %s, %s, %s, %s, %s, %s)",
            [
                (name, i, len(steps) - 1, action, frm, to, who)
                for name, steps in PATHS.items()
                for i, (action, frm, to, who) in enumerate(steps)
            ],
        )
        cur.executemany("INSERT INTO bench_path_status VALUES (%s, %s)", [(p, final_status(p)) for p in PATHS])


def _params(ref: Reference, n: int, start: int) -> dict[str, Any]:
    return {
        "n": n,
        "start": start,
        "held": HELD_SHARE,
        "tz": TIMEZONE,
        "prefix": PREFIX,
        "phones": max(1000, n // 3),  # about three reports per phone number over two years: repeat reporters
        "ncat": len(ref.categories),
        "skew": CATEGORY_SKEW,
        "ngrid": len(ref.grids),
        "nphrase": len(PHRASES),
        "cats": ref.categories,
        "depts": ref.departments,
        "grids": ref.grids,
        "places": ref.places,
        "phrases": PHRASES,
        "lat": ref.lat,
        "lon": ref.lon,
    }


def _stray_reports(conn: psycopg.Connection[Any], n: int) -> None:
    """Reports without a case: failed ones (an operator's queue) and a few still pending, all recent."""
    failed, pending = max(1, n * FAILED_PER_100K // 100_000), max(1, n * PENDING_PER_100K // 100_000)
    conn.execute(
        """
        INSERT INTO report (channel, external_id, received_at, raw, text, phone, attachments, hints,
                            processing_status, attempts, last_error, last_attempt_at)
        SELECT 'web', 'bench-stray-' || gen_random_uuid(), now() - random() * interval '2 days', '{}'::json,
               '东门菜市场附近井盖松动，车压过去响', '+86139' || lpad(floor(random() * 1e8)::text, 8, '0'),
               '[]'::json, '{}'::json, CASE WHEN i <= %(failed)s THEN 'failed' ELSE 'pending' END,
               CASE WHEN i <= %(failed)s THEN 5 ELSE 0 END,
               CASE WHEN i <= %(failed)s THEN 'OperationalError: could not connect to server' END,
               CASE WHEN i <= %(failed)s THEN now() - interval '1 hour' END
        FROM generate_series(1, %(total)s) i
        """,
        {"failed": failed, "total": failed + pending},
    )


def generate(name: str, n: int) -> dict[str, float]:
    """Add `n` cases (with reports and events) to database `name`; returns seconds per step."""
    took: dict[str, float] = {}
    with psycopg.connect(db_url(name)) as conn:
        ref = load_reference(conn)
        start = conn.execute('SELECT coalesce(max(id), 0) FROM "case"').fetchone()[0]  # type: ignore[index]
        _path_tables(conn)
        params = _params(ref, n, start)
        steps = [
            ("draw", _GEN.format(recent=sql_pick(RECENT_MIX, "path_u"), old=sql_pick(OLD_MIX, "path_u"),
                                 channel=sql_pick(CHANNELS, "p.chan_u"))),
            ("cases", _CASES),
            ("reports", _REPORTS),
            ("events", _EVENTS),
            ("sms", _SMS),
            ("calls", _CALLS),
        ]  # fmt: skip
        for label, sql in steps:
            t = time.perf_counter()
            conn.execute(sql, params)  # SQL built from this module's constants only
            took[label] = time.perf_counter() - t
        t = time.perf_counter()
        conn.execute(
            "INSERT INTO case_counter (day, last) SELECT day, max(seq) FROM gen GROUP BY day "
            "ON CONFLICT (day) DO UPDATE SET last = greatest(case_counter.last, excluded.last)"
        )
        conn.execute("SELECT setval(pg_get_serial_sequence('\"case\"', 'id'), (SELECT max(id) FROM \"case\"))")
        _stray_reports(conn, n)
        took["counters"] = time.perf_counter() - t
    t = time.perf_counter()
    with psycopg.connect(db_url(name), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    took["vacuum analyze"] = time.perf_counter() - t
    return took


def counts(name: str) -> dict[str, int]:
    with psycopg.connect(db_url(name)) as conn:
        out = {}
        for label, sql in [
            ("cases", 'SELECT count(*) FROM "case"'),
            ("held", "SELECT count(*) FROM \"case\" WHERE needs_review AND status = 'registered'"),
            ("open", "SELECT count(*) FROM \"case\" WHERE status NOT IN ('closed', 'rejected', 'merged')"),
            ("reports", "SELECT count(*) FROM report"),
            ("failed reports", "SELECT count(*) FROM report WHERE processing_status = 'failed'"),
            ("events", "SELECT count(*) FROM case_event"),
            ("sms", "SELECT count(*) FROM sms_message"),
            ("calls", "SELECT count(*) FROM call_session"),
        ]:
            out[label] = int(conn.execute(sql).fetchone()[0])  # type: ignore[index]
        return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", type=int, default=100_000)
    ap.add_argument("--db", default=DEFAULT_DB, help="database name (must start with hotline_bench_)")
    ap.add_argument("--grow", action="store_true", help="add to the existing database instead of a fresh one")
    args = ap.parse_args()
    t = time.perf_counter()
    if not args.grow:
        create_database(args.db)
    made = time.perf_counter() - t
    took = generate(args.db, args.cases)
    print(f"database {args.db}: created + migrated + seeded {made:.1f} s; +{args.cases:,} cases: "
          + ", ".join(f"{k} {v:.1f} s" for k, v in took.items()))  # fmt: skip
    print(counts(args.db))


if __name__ == "__main__":
    main()
