"""`holds` (the matcher's answer without reasons) agrees with `evaluate` on every leaf kind and on nested
all/any, for inputs that hit and miss each; and `route(explain=False)` decides as `route` does."""

from __future__ import annotations

from dataclasses import replace
from datetime import time
from itertools import product

from routing.conditions import RoutingInputs, evaluate, holds, parse_condition
from routing.rules import route
from tests.rules_helpers import shipped

CONDITIONS = [
    {"field": "category", "op": "in", "value": ["06010", "06042"]},
    {"field": "category", "op": "prefix", "value": ["01", "06"]},
    {"field": "community", "op": "in", "value": ["421102001001"]},
    {"field": "street", "op": "in", "value": ["421102002"]},
    {"field": "text", "op": "contains_any", "value": ["菜市场", "臭"]},
    {"field": "time_of_day", "op": "between", "value": ["22:00", "06:00"]},
    {"field": "category_confidence", "op": "lt", "value": 0.5},
    {"field": "decision_confidence", "op": "gte", "value": 0.6},
    {"field": "repeat_reporter", "op": "gte", "value": 3},
    {"all": [{"field": "channel", "op": "in", "value": ["web"]}, {"field": "grade", "op": "in", "value": ["urgent"]}]},
    {
        "any": [
            {"field": "event_type", "op": "in", "value": ["garbage"]},
            {"field": "day_kind", "op": "in", "value": ["holiday"]},
        ]
    },
]
INPUTS = [
    RoutingInputs(),
    RoutingInputs(category_code="06010", category_confidence=0.46, grid_code="421102001001002", text="菜市场很臭",
                  local_time=time(23, 10), channel="web", grade="urgent", repeat_reports=4, day_kind="holiday"),
    RoutingInputs(category_code="01023", category_confidence=0.9, grid_code="421102002001001", text="井盖",
                  local_time=time(12, 0), channel="voice", event_type="garbage", day_kind="workday"),
]  # fmt: skip


def test_holds_agrees_with_evaluate() -> None:
    for raw, x, dc in product(CONDITIONS, INPUTS, (None, 0.3, 0.9)):
        c = parse_condition(raw)
        assert holds(c, x, dc) == evaluate(c, x, dc)[0], (raw, x, dc)


def test_a_replay_without_reasons_decides_the_same() -> None:
    spec = shipped()
    for code in ("06010", "06001", "01023", "99000", "09009", None):
        for cands in ((), ((code or "06010", 0.46), ("06011", 0.2), ("01023", 0.1))):
            x = RoutingInputs(category_code=code, category_confidence=0.46 if cands else 1.0, candidates=cands)
            full, quick = route(spec, x), route(spec, x, explain=False)
            assert (quick.department_code, quick.grade, quick.auto_dispatch, quick.rule_id, quick.confidence) == (
                full.department_code,
                full.grade,
                full.auto_dispatch,
                full.rule_id,
                full.confidence,
            )
            assert quick.skipped == () and quick.reasons == []


def test_each_candidate_is_tried_with_its_own_probability() -> None:
    from routing.rules import RoutingRule, RuleActions, RuleSetSpec

    sure_enough = RoutingRule(
        key="sure-sanitation",
        name="把握够的环卫",
        when=parse_condition({"all": [{"field": "category", "op": "prefix", "value": ["06"]},
                                      {"field": "category_confidence", "op": "gte", "value": 0.3}]}),
        then=RuleActions(department="sanitation"),
    )  # fmt: skip
    spec = RuleSetSpec(rules=(sure_enough, RoutingRule(key="default", name="兜底", then=RuleActions(hold=True))))
    x = RoutingInputs(category_code="06010", category_confidence=0.4,
                      candidates=(("06010", 0.4), ("06011", 0.25), ("06012", 0.35)))  # fmt: skip
    d = route(spec, x)
    assert d.department_code == "sanitation" and d.confidence == 0.75  # 06011 at 0.25 falls to the catch-all
    assert route(spec, x, explain=False).confidence == 0.75


def test_the_category_gate_never_passes_over_a_rule_that_holds() -> None:
    from routing.conditions import category_gate

    for raw, x in product([*CONDITIONS, {"any": CONDITIONS[:2]}, {"all": CONDITIONS[1:3]}], INPUTS):
        c = parse_condition(raw)
        gate = category_gate(c)
        if gate is not None and not gate(x.category_code):
            assert not holds(c, x, 0.9), raw


def test_the_quick_replay_agrees_with_the_explaining_matcher_on_mixed_rules() -> None:
    import random
    from datetime import date

    from routing.rules import RoutingRule, RuleActions, RuleSetSpec, RuleState

    rng = random.Random(16)
    codes = ["06010", "06011", "06001", "01023", "09006", "99000", None]
    rules = []
    for n, raw in enumerate(CONDITIONS * 2):
        state = [RuleState.ACTIVE, RuleState.ACTIVE, RuleState.SHADOW, RuleState.DISABLED][n % 4]
        rules.append(RoutingRule(key=f"r{n}", name=f"规则{n}", when=parse_condition(raw), state=state,
                                 expires_on=date(2026, 1, 1) if n % 5 == 0 else None,
                                 then=RuleActions(department=["sanitation", "municipal", None][n % 3],
                                                  hold=n % 3 == 2, grade="urgent" if n % 2 else None)))  # fmt: skip
    rules.append(RoutingRule(key="default", name="兜底", then=RuleActions(hold=True)))
    spec = RuleSetSpec(rules=tuple(rules))
    for _ in range(400):
        code = rng.choice(codes)
        cands = tuple((c, round(rng.random() / 2, 3)) for c in rng.sample(codes[:-1], 3)) if rng.random() < 0.6 else ()
        x = replace(rng.choice(INPUTS), category_code=code, category_confidence=rng.random(), candidates=cands,
                    day=date(2026, rng.choice([1, 6]), 1))  # fmt: skip
        full, quick = route(spec, x), route(spec, x, explain=False)
        assert (quick.department_code, quick.grade, quick.auto_dispatch, quick.rule_id, quick.confidence) == (
            full.department_code, full.grade, full.auto_dispatch, full.rule_id, full.confidence), x  # fmt: skip
