"""How long the back-test of a draft takes (`routing.backtest.backtest`) with many cases decided in the last
30 days in PostgreSQL, against baselines measured in the same run on the same rows:

- "read only": streaming the same rows (`decided_since`: the columns needed, one query) and doing nothing
  with them — the floor set by the database and the driver;
- "naive": what one would write first — ORM objects of every decision record in the window, the latest
  per case kept in a dict, each replayed with the explaining matcher (`route(spec, inputs)`).

One run builds its own database (`hotline_bench_backtest`, dropped at the end unless --keep): N cases with
the console benchmark's generator (bench/console_data.py), then one decision record per case made by
set-based SQL — made in the last 30 days, with the shipped rules' rule, department, grade and hold for its
category, and the inputs a routing keeps: the model's three candidates with their probabilities for most
(the case's category at 0.6–0.99, two other categories sharing the rest), none for the tenth an agent
confirmed; the grid, community, street, channel, the report's text, the local time and day. Drafts
timed: the shipped rules unchanged, 暴露垃圾 sent to 执法 (the issue's example), and a draft whose first
rule tests words in the text (气味 / 臭 → 环卫, urgent; it reads the text, so the look-alikes are fewer).

    python bench/backtest.py --cases 100000
    python bench/backtest.py --cases 100000 --rounds 5 --keep
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import console_data as data  # noqa: E402  (bench/ is not a package)
from sqlmodel import Session, col, create_engine, select  # noqa: E402

from routing.backtest import REPLAYED_KINDS, backtest, decided_since  # noqa: E402
from routing.conditions import RoutingInputs, parse_condition  # noqa: E402
from routing.models import DecisionRecord  # noqa: E402
from routing.rules import DEFAULT_RULES, RoutingRule, RuleActions, RuleSetSpec, load_rule_file, route  # noqa: E402

DB = "hotline_bench_backtest"
DAYS = 30
CONFIRMED_SHARE = 0.1  # decided after an agent chose the category: no candidates

_DECISIONS = """
INSERT INTO routing_decision (case_id, at, kind, actor, rule_set_version, rule_key, rule_name, rule_position,
                              department_code, grade, held, confidence, inputs, outcome, skipped, reasons)
SELECT d.id, d.at, CASE WHEN d.sure THEN 'confirm' ELSE 'route' END,
       CASE WHEN d.sure THEN 'agent:bench' ELSE 'system' END, 1,
       (%(keys)s::text[])[d.ci], (%(names)s::text[])[d.ci], (%(positions)s::int[])[d.ci],
       d.department_code, (%(grades)s::text[])[d.ci], (%(holds)s::bool[])[d.ci],
       CASE WHEN d.sure THEN 1.0 ELSE d.p1 END,
       json_build_object(
           'category_code', d.category_code, 'category_confidence', CASE WHEN d.sure THEN 1.0 ELSE d.p1 END,
           'candidates', CASE WHEN d.sure THEN '[]'::json ELSE json_build_array(
               json_build_array(d.category_code, d.p1),
               json_build_array((%(cats)s::text[])[d.o1], round(((1 - d.p1) * 0.6)::numeric, 4)),
               json_build_array((%(cats)s::text[])[d.o2], round(((1 - d.p1) * 0.3)::numeric, 4))) END,
           'grid_code', d.grid_code, 'community_code', left(d.grid_code, 12), 'street_code', left(d.grid_code, 9),
           'channel', d.channel, 'text', d.text,
           'local_time', to_char(d.at AT TIME ZONE %(tz)s, 'HH24:MI'),
           'day', to_char(d.at AT TIME ZONE %(tz)s, 'YYYY-MM-DD'),
           'day_kind', CASE WHEN extract(isodow FROM d.at AT TIME ZONE %(tz)s) IN (6, 7) THEN 'weekend'
                            ELSE 'workday' END,
           'repeat_reports', d.repeats, 'event_type', NULL, 'grade', NULL),
       json_build_object('department', d.department_code, 'grade', (%(grades)s::text[])[d.ci],
                         'hold', (%(holds)s::bool[])[d.ci],
                         'require_check', false, 'sla_policy', NULL, 'notify', '[]'::json, 'tags', '[]'::json,
                         'low_confidence', false, 'held', (%(holds)s::bool[])[d.ci], 'hold_reasons', '[]'::json),
       '[]'::json, json_build_array('类别 ' || d.category_code || ' 属于 …')
FROM (SELECT d0.*, CASE WHEN d0.o1_u >= d0.ci THEN d0.o1_u + 1 ELSE d0.o1_u END AS o1,
             CASE WHEN d0.o2_u >= d0.ci THEN d0.o2_u + 1 ELSE d0.o2_u END AS o2
      FROM (
    SELECT c.id, c.category_code, c.department_code, c.grid_code, r.channel, r.text,
           now() - random() * %(days)s * interval '1 day' AS at, random() < %(sure)s AS sure,
           round((0.6 + 0.39 * random())::numeric, 4) AS p1,
           floor(random() * (%(ncat)s - 1))::int + 1 AS o1_u, floor(random() * (%(ncat)s - 1))::int + 1 AS o2_u,
           floor(random() * 3)::int AS repeats,
           array_position(%(cats)s::text[], c.category_code) AS ci
    FROM "case" c JOIN report r ON r.case_id = c.id
    WHERE c.id > %(start)s AND c.category_code IS NOT NULL
) d0 WHERE d0.ci IS NOT NULL) d
"""


def add_decisions(db: str, start: int, spec: RuleSetSpec) -> float:
    """One decision record per case made since `start`, set-based; returns seconds."""
    cats, keys, names, positions, grades, holds = [], [], [], [], [], []
    with psycopg.connect(data.db_url(db)) as conn:
        for (code,) in conn.execute('SELECT DISTINCT category_code FROM "case" WHERE category_code IS NOT NULL'):
            d = route(spec, RoutingInputs(category_code=code, category_confidence=1.0))
            if d.rule_id is None:
                continue
            cats.append(code)
            keys.append(d.rule_id)
            names.append(d.rule_name or "")
            positions.append(d.rule_position or 0)
            grades.append(d.grade)
            holds.append(not d.auto_dispatch)
        params = {"cats": cats, "keys": keys, "names": names, "positions": positions, "grades": grades,
                  "holds": holds, "ncat": len(cats), "start": start, "days": DAYS, "sure": CONFIRMED_SHARE,
                  "tz": data.TIMEZONE}  # fmt: skip
        t = time.perf_counter()
        conn.execute(_DECISIONS, params)
        took = time.perf_counter() - t
    with psycopg.connect(data.db_url(db), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE routing_decision")
    return took


def read_only(session: Session, since: datetime) -> int:
    return sum(1 for _ in decided_since(session, since))


def naive(session: Session, spec: RuleSetSpec, since: datetime) -> int:
    """ORM rows, the latest per case in a dict, each replayed with reasons: the first thing one would write."""
    latest: dict[int, DecisionRecord] = {}
    q = select(DecisionRecord).where(col(DecisionRecord.at) >= since, col(DecisionRecord.kind).in_(REPLAYED_KINDS))
    for rec in session.exec(q):
        have = latest.get(rec.case_id)
        if have is None or (rec.at, rec.id or 0) > (have.at, have.id or 0):
            latest[rec.case_id] = rec
    changed = 0
    for rec in latest.values():
        d = route(spec, RoutingInputs.from_json(rec.inputs))
        changed += (d.department_code, d.grade, not d.auto_dispatch) != (rec.department_code, rec.grade, rec.held)
    session.expunge_all()
    return changed


def drafts(spec: RuleSetSpec) -> dict[str, RuleSetSpec]:
    to_enforcement = tuple(
        replace(r, then=replace(r.then, department="enforcement")) if r.key == "garbage-exposed" else r
        for r in spec.rules
    )
    words = RoutingRule(
        key="smelly-garbage",
        name="垃圾有异味",
        when=parse_condition({"field": "text", "op": "contains_any", "value": ["气味", "臭"]}),
        then=RuleActions(department="sanitation", grade="urgent"),
    )
    return {
        "shipped rules, unchanged": spec,
        "暴露垃圾 → 执法 (the issue's example)": replace(spec, rules=to_enforcement),
        "a text rule first (气味 / 臭 → urgent)": replace(spec, rules=(words, *spec.rules)),
    }


def timed(rounds: int, run: Callable[[], Any]) -> tuple[list[float], Any]:
    times, out = [], None
    for _ in range(rounds):
        t = time.perf_counter()
        out = run()
        times.append(time.perf_counter() - t)
    return times, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=3, help="timed runs of each draft (the naive baseline runs once)")
    ap.add_argument("--keep", action="store_true", help="keep the database afterwards")
    ap.add_argument("--reuse", action="store_true", help="measure an existing database (made with --keep)")
    args = ap.parse_args()
    spec = load_rule_file(DEFAULT_RULES)
    if not args.reuse:
        t = time.perf_counter()
        data.create_database(DB)
        took = data.generate(DB, args.cases)
        made = add_decisions(DB, 0, spec)
        print(f"data: {time.perf_counter() - t:.0f} s (cases: {sum(took.values()):.0f} s, decisions: {made:.1f} s)")
    engine = create_engine(data.db_url(DB, "postgresql+psycopg"))
    now = datetime.now(UTC)
    since = now - timedelta(days=DAYS)
    try:
        with Session(engine) as s:
            total = s.exec(select(DecisionRecord.id).where(col(DecisionRecord.at) >= since)).all()
            print(f"{len(total):,} decision records in the last {DAYS} days; load average {os.getloadavg()[0]:.2f}")
            base_times, n = timed(args.rounds, lambda: read_only(s, since))
            base = statistics.median(base_times)
            print("\n| run | median s | min s | / read only | cases | changed | matcher runs |")
            print("|---|---:|---:|---:|---:|---:|---:|")
            print(f"| read only (stream the rows) | {base:.2f} | {min(base_times):.2f} | 1.0× | {n:,} | | |")
            for label, draft in drafts(spec).items():
                times, result = timed(args.rounds, lambda d=draft: backtest(s, d, DAYS, now))
                med = statistics.median(times)
                print(f"| backtest: {label} | {med:.2f} | {min(times):.2f} | {med / base:.1f}× | {result.cases:,} "
                      f"| {result.changed:,} | {result.distinct_inputs:,} |")  # fmt: skip
                sys.stdout.flush()
            times, changed = timed(1, lambda: naive(s, drafts(spec)["暴露垃圾 → 执法 (the issue's example)"], since))
            print(f"| naive (ORM rows, route with reasons): 暴露垃圾 → 执法 | {times[0]:.2f} | {times[0]:.2f} "
                  f"| {times[0] / base:.1f}× | | {changed:,} | |")  # fmt: skip
    finally:
        engine.dispose()
        if not args.keep:
            data.drop_database(DB)


if __name__ == "__main__":
    main()
