"""Cases with decision records for the back-test's loading half, on SQLite and on PostgreSQL: the latest
ROUTE / CONFIRM decision of each case in the window counts, older ones and 改派 do not."""

from __future__ import annotations

from dataclasses import replace
from datetime import time, timedelta

from sqlmodel import Session

from cases.models import Case, utcnow
from cases.service import open_case
from routing.backtest import backtest
from routing.conditions import RoutingInputs, parse_condition
from routing.decision_records import record_decision
from routing.models import DecisionKind
from routing.rules import RoutingDecision, RoutingRule, RuleActions, route
from tests.console_helpers import GRID
from tests.rules_helpers import shipped, with_actions

TITLES = {
    "garbage": "东门菜市场门口垃圾堆积",
    "garbage-old": "东门路垃圾桶满溢",
    "building": "考棚街私搭乱建",
    "confirmed": "东门巷口垃圾没人清",
    "reassigned": "黄州古城旁违章搭建",
}


def _decide(
    s: Session, case: Case, x: RoutingInputs, *, days_ago: float, kind: DecisionKind = DecisionKind.ROUTE
) -> None:
    d = route(shipped(), x)
    record_decision(s, case, d, x, held=not d.auto_dispatch, kind=kind, at=utcnow() - timedelta(days=days_ago))


def make_cases(s: Session) -> dict[str, str]:
    """Returns case numbers by role in the scenario."""
    numbers = {}
    for name, code, days_ago in [("garbage", "06010", 1), ("garbage-old", "06010", 40), ("building", "06001", 2)]:
        case = open_case(s, actor="system:pipeline", title=TITLES[name], category_code=code, grid_code=GRID)
        seen = RoutingInputs(category_code=code, category_confidence=1.0, grid_code=GRID,
                             text=f"{name}：东门菜市场门口",
                             local_time=time(23, 10) if name == "garbage" else time(9, 0),
                             repeat_reports=4 if name == "garbage" else 0)  # fmt: skip
        _decide(s, case, seen, days_ago=days_ago)
        numbers[name] = case.number
    # Held by the gate at first, then an agent confirmed 06010: the confirmation is what counts.
    case = open_case(s, actor="system:pipeline", title=TITLES["confirmed"], category_code="06010", grid_code=GRID)
    unsure = RoutingInputs(category_code="06010", category_confidence=0.4, candidates=(("06010", 0.4), ("01023", 0.35)),
                           grid_code=GRID)  # fmt: skip
    _decide(s, case, unsure, days_ago=3)
    sure = RoutingInputs(category_code="06010", category_confidence=1.0, grid_code=GRID)
    _decide(s, case, sure, days_ago=2.5, kind=DecisionKind.CONFIRM)
    numbers["confirmed"] = case.number
    # Sent to a department by hand after its routing: a 改派 is not the rules' decision.
    case = open_case(s, actor="system:pipeline", title=TITLES["reassigned"], category_code="06001", grid_code=GRID)
    _decide(s, case, RoutingInputs(category_code="06001", category_confidence=1.0, grid_code=GRID), days_ago=2)
    by_hand = RoutingDecision(department_code="municipal", grade="normal", rule_id=None, auto_dispatch=True)
    record_decision(s, case, by_hand, sure, held=False, kind=DecisionKind.REASSIGN, at=utcnow() - timedelta(days=1))
    numbers["reassigned"] = case.number
    s.flush()
    return numbers


def check_backtest(s: Session, numbers: dict[str, str]) -> None:
    draft = with_actions(shipped(), "garbage-exposed", department="enforcement")
    result = backtest(s, draft, 30, utcnow())
    assert result.cases == 4  # garbage, building, confirmed, reassigned (its last ROUTE)
    assert result.changed == result.department_changed == 2
    assert sorted(c.number for c in result.changes) == sorted([numbers["garbage"], numbers["confirmed"]])
    change = next(c for c in result.changes if c.number == numbers["confirmed"])
    assert (change.old_department, change.new_department, change.old_hold, change.new_hold) == (
        "sanitation", "enforcement", False, False)  # fmt: skip
    assert change.title == TITLES["confirmed"]
    counts = {r.key: (r.matched, r.changed) for r in result.per_rule}
    assert counts["garbage-exposed"] == (2, 2) and counts["illegal-building"] == (2, 0)
    unchanged = backtest(s, shipped(), 30, utcnow())
    assert unchanged.cases == 4 and unchanged.changed == 0
    assert backtest(s, draft, 90, utcnow()).changed == 3  # the 40-day-old case too
    # A draft reading the text, the time of day and the repeat count (read out of the JSON in SQL).
    night = RoutingRule(
        key="night-repeat",
        name="夜间重复反映菜市场",
        when=parse_condition({"all": [{"field": "text", "op": "contains_any", "value": ["菜市场"]},
                                      {"field": "time_of_day", "op": "between", "value": ["22:00", "06:00"]},
                                      {"field": "repeat_reporter", "op": "gte", "value": 3},
                                      {"field": "community", "op": "in", "value": [GRID[:12]]}]}),
        then=RuleActions(department="enforcement", grade="urgent"),
    )  # fmt: skip
    result = backtest(s, replace(shipped(), rules=(night, *shipped().rules)), 30, utcnow())
    assert [c.number for c in result.changes] == [numbers["garbage"]]
    assert (result.department_changed, result.grade_changed) == (1, 1)
