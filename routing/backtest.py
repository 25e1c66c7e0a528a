"""Back-testing a draft rule set: replay what the rules saw of every case decided in the last N days (the
inputs of its latest ROUTE or CONFIRM decision record) against the draft with the matcher itself
(`routing.rules.route`), and compare with what the record says the rules decided then — department, grade,
hold for an agent. The counts are complete (per rule of the draft: matched, changed; totals); the list of
changed cases is capped for the page.

Two halves: `replay` is pure (rows in, result out); `backtest` streams the rows from the database — only
the columns needed, one query, no ORM objects — and names the listed cases. A replay reads the inputs only
through the fields the draft's rules test, so cases that look alike to the draft (same category and
candidates, and the same values of whatever else it tests) are decided once.

"Hold" compared is the rules' own (a rule's hold or the confidence gate: `outcome.hold`), not the
pipeline's other reasons to wait (no grid, a possible duplicate, 核查): those do not depend on the rules."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import select as wide_select
from sqlmodel import Session, col, select

from cases.models import Case
from routing.conditions import RoutingInputs, leaves
from routing.models import DecisionKind, DecisionRecord
from routing.rules import RuleSetSpec, route

CHANGED_CAP = 200
MAX_DAYS = 90
STREAM_BATCH = 5000

# The inputs' JSON keys each condition field reads (category and candidates are always read: the
# decision's confidence sums the candidates' probabilities; the grade given always stands).
ALWAYS_READ = ("category_code", "category_confidence", "candidates", "grade")
FIELD_KEYS: dict[str, tuple[str, ...]] = {
    "category": (),
    "category_confidence": (),
    "decision_confidence": (),
    "grade": (),
    "grid": ("grid_code",),
    "community": ("community_code", "grid_code"),
    "street": ("street_code", "grid_code"),
    "channel": ("channel",),
    "text": ("text",),
    "time_of_day": ("local_time",),
    "day_kind": ("day_kind",),
    "repeat_reporter": ("repeat_reports",),
    "event_type": ("event_type",),
}


class Decided(NamedTuple):
    """A case's latest ROUTE / CONFIRM decision as recorded: what the rules said, and what they saw."""

    case_id: int
    department: str | None
    grade: str
    hold: bool
    rule_key: str | None
    inputs: Mapping[str, Any]


@dataclass(frozen=True)
class Change:
    case_id: int
    old_department: str | None
    new_department: str | None
    old_grade: str
    new_grade: str
    old_hold: bool
    new_hold: bool
    old_rule: str | None
    new_rule: str | None  # the draft's rule that decided (its key)
    new_position: int | None
    number: str = ""
    title: str = ""


@dataclass(frozen=True)
class RuleCount:
    position: int
    key: str
    name: str
    state: str
    matched: int  # cases the draft's rule would decide
    changed: int  # of those, cases whose department, grade or hold would change


@dataclass(frozen=True)
class Backtest:
    cases: int
    changed: int
    department_changed: int
    grade_changed: int
    hold_changed: int
    per_rule: list[RuleCount]
    changes: list[Change]  # the first CHANGED_CAP of them, by case
    days: int = 0
    since: datetime | None = None
    seconds: float = 0.0
    distinct_inputs: int = 0  # how many replays the matcher actually ran

    @property
    def capped(self) -> bool:
        return self.changed > len(self.changes)


def read_keys(spec: RuleSetSpec) -> tuple[str, ...]:
    """The inputs' keys the draft's decision can depend on."""
    keys = list(ALWAYS_READ)
    for rule in spec.rules:
        for leaf in leaves(rule.when):
            keys += FIELD_KEYS[leaf.field]
    if any(rule.expires_on is not None for rule in spec.rules):
        keys.append("day")
    return tuple(dict.fromkeys(keys))


def _frozen(value: Any) -> Any:
    return tuple(tuple(v) if isinstance(v, list) else v for v in value) if isinstance(value, list) else value


class _Outcome(NamedTuple):
    department: str | None
    grade: str
    hold: bool
    rule_key: str | None
    position: int | None


def replay(spec: RuleSetSpec, rows: Iterable[Decided], cap: int = CHANGED_CAP) -> Backtest:
    """Every row against `spec`: counts per rule and in total, and the first `cap` changed cases."""
    keys = read_keys(spec)
    memo: dict[tuple[Any, ...], _Outcome] = {}
    matched: dict[str, int] = {r.key: 0 for r in spec.rules}
    changed_by_rule: dict[str, int] = {r.key: 0 for r in spec.rules}
    total = changed = dept_changed = grade_changed = hold_changed = 0
    changes: list[Change] = []
    for row in rows:
        total += 1
        seen = row.inputs
        key = tuple(_frozen(seen.get(k)) for k in keys)
        new = memo.get(key)
        if new is None:
            d = route(spec, RoutingInputs.from_json(seen), explain=False)
            new = _Outcome(d.department_code, d.grade, not d.auto_dispatch, d.rule_id, d.rule_position)
            memo[key] = new
        if new.rule_key is not None:
            matched[new.rule_key] = matched.get(new.rule_key, 0) + 1
        dept, grade, hold = new.department != row.department, new.grade != row.grade, new.hold != row.hold
        if not (dept or grade or hold):
            continue
        changed += 1
        dept_changed += dept
        grade_changed += grade
        hold_changed += hold
        if new.rule_key is not None:
            changed_by_rule[new.rule_key] = changed_by_rule.get(new.rule_key, 0) + 1
        if len(changes) < cap:
            changes.append(
                Change(
                    case_id=row.case_id,
                    old_department=row.department,
                    new_department=new.department,
                    old_grade=row.grade,
                    new_grade=new.grade,
                    old_hold=row.hold,
                    new_hold=new.hold,
                    old_rule=row.rule_key,
                    new_rule=new.rule_key,
                    new_position=new.position,
                )
            )
    per_rule = [
        RuleCount(i, r.key, r.name, r.state.value, matched[r.key], changed_by_rule[r.key])
        for i, r in enumerate(spec.rules, start=1)
    ]
    return Backtest(
        cases=total,
        changed=changed,
        department_changed=dept_changed,
        grade_changed=grade_changed,
        hold_changed=hold_changed,
        per_rule=per_rule,
        changes=changes,
        distinct_inputs=len(memo),
    )


# --- loading ----------------------------------------------------------------------------------------------

REPLAYED_KINDS = (DecisionKind.ROUTE.value, DecisionKind.CONFIRM.value)


def decided_since(session: Session, since: datetime) -> Iterator[Decided]:
    """The latest ROUTE / CONFIRM decision of every case with one at or after `since`, streamed in case
    order (ix_routing_decision_at bounds the scan; later records of a case come first and win). The
    inputs come whole: pulling single keys out of the JSON in SQL cost more than parsing the documents."""
    r = DecisionRecord
    hold = col(r.outcome)["hold"].as_boolean()
    q = (
        wide_select(col(r.case_id), col(r.department_code), col(r.grade), col(r.held), hold, col(r.rule_key),
                    col(r.inputs))
        .where(col(r.at) >= since, col(r.kind).in_(REPLAYED_KINDS))
        .order_by(col(r.case_id), col(r.at).desc(), col(r.id).desc())
        .execution_options(yield_per=STREAM_BATCH)
    )  # fmt: skip
    last = None
    for case_id, department, grade, held, rules_hold, rule_key, inputs in session.execute(q):
        if case_id == last:
            continue
        last = case_id
        yield Decided(case_id, department, grade, held if rules_hold is None else bool(rules_hold), rule_key, inputs)


def _named(session: Session, changes: list[Change]) -> list[Change]:
    ids = [c.case_id for c in changes]
    if not ids:
        return changes
    found = {
        i: (n, t) for i, n, t in session.exec(select(Case.id, Case.number, Case.title).where(col(Case.id).in_(ids)))
    }
    out = []
    for c in changes:
        number, title = found.get(c.case_id, ("", ""))
        out.append(replace(c, number=number, title=title or ""))
    return out


def backtest(session: Session, spec: RuleSetSpec, days: int, now: datetime, cap: int = CHANGED_CAP) -> Backtest:
    """The draft `spec` over the cases decided in the last `days` days before `now`. Reads only."""
    if not 1 <= days <= MAX_DAYS:
        raise ValueError(f"days must be 1–{MAX_DAYS}, not {days}")
    started = time.perf_counter()
    since = now - timedelta(days=days)
    result = replay(spec, decided_since(session, since), cap)
    changes = _named(session, result.changes)
    return replace(result, changes=changes, days=days, since=since, seconds=time.perf_counter() - started)
