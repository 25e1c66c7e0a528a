"""The back-test's pure replay (routing.backtest.replay): the shipped rules replayed over their own
decisions change nothing; a draft that sends 暴露垃圾 elsewhere, raises a grade or the gate changes exactly
the cases it should, counted per rule of the draft and in total; the list is capped, the counts are not;
alike cases are decided once, and only through the fields the draft tests."""

from __future__ import annotations

from dataclasses import replace

from routing.backtest import Decided, read_keys, replay
from routing.conditions import RoutingInputs, parse_condition
from routing.rules import RoutingRule, RuleActions, RuleSetSpec, route
from tests.rules_helpers import shipped, with_actions

DONGMEN = "421102001001"  # 东门社区
QINGZHUAN = "421102001002"  # 青砖湖社区


def _rows(spec: RuleSetSpec, inputs: list[RoutingInputs]) -> list[Decided]:
    rows = []
    for i, x in enumerate(inputs, start=1):
        d = route(spec, x)
        rows.append(Decided(i, d.department_code, d.grade, not d.auto_dispatch, d.rule_id, x.to_json()))
    return rows


def _corpus() -> list[RoutingInputs]:
    out = []
    for n in range(40):
        community = DONGMEN if n % 2 else QINGZHUAN
        code = ["06010", "06001", "01023", "09006", "99000"][n % 5]
        cands = ((code, 0.7), ("06011", 0.2), ("09006", 0.1)) if n % 4 == 0 else ()
        out.append(RoutingInputs(category_code=code, category_confidence=0.7 if cands else 1.0, candidates=cands,
                                 grid_code=community + "001", text=f"第{n}件"))  # fmt: skip
    return out


def test_the_rules_replayed_over_their_own_decisions_change_nothing() -> None:
    spec = shipped()
    result = replay(spec, _rows(spec, _corpus()))
    assert (result.cases, result.changed, result.changes) == (40, 0, [])
    assert sum(r.matched for r in result.per_rule) == 40
    assert [r.key for r in result.per_rule] == [r.key for r in spec.rules]
    assert {r.key: r.matched for r in result.per_rule}["garbage-exposed"] == 8


def test_a_draft_sending_exposed_garbage_elsewhere() -> None:
    spec = shipped()
    rows = _rows(spec, _corpus())
    result = replay(with_actions(spec, "garbage-exposed", department="enforcement"), rows)
    assert result.changed == result.department_changed == 8 and result.grade_changed == result.hold_changed == 0
    counts = {r.key: (r.matched, r.changed) for r in result.per_rule}
    assert counts["garbage-exposed"] == (8, 8) and counts["illegal-building"] == (8, 0)
    change = result.changes[0]
    assert (change.old_department, change.new_department, change.new_rule, change.new_position) == (
        "sanitation", "enforcement", "garbage-exposed", 1)  # fmt: skip


def test_a_rule_for_one_community_changes_only_its_cases() -> None:
    spec = shipped()
    rows = _rows(spec, _corpus())
    dongmen = RoutingRule(
        key="dongmen-garbage",
        name="东门社区暴露垃圾",
        when=parse_condition({"all": [{"field": "category", "op": "in", "value": ["06010"]},
                                      {"field": "community", "op": "in", "value": [DONGMEN]}]}),
        then=RuleActions(department="enforcement", grade="urgent"),
    )  # fmt: skip
    draft = replace(spec, rules=(dongmen, *spec.rules))
    assert "grid_code" in read_keys(draft) and "text" not in read_keys(draft)
    result = replay(draft, rows)
    assert result.changed == 4 and result.grade_changed == 4
    assert all(c.new_rule == "dongmen-garbage" for c in result.changes)
    assert {r.key: r.matched for r in result.per_rule}["garbage-exposed"] == 4  # the other community's


def test_raising_the_gate_holds_the_unsure_ones() -> None:
    spec = shipped()
    rows = _rows(spec, _corpus())
    result = replay(replace(spec, min_decision_confidence=0.95), rows)
    unsure = sum(1 for r in rows if r.inputs["candidates"] and not r.hold)
    assert unsure > 0 and result.changed == result.hold_changed == unsure
    assert all(c.new_hold and not c.old_hold for c in result.changes)


def test_the_list_is_capped_and_the_counts_are_not() -> None:
    spec = shipped()
    result = replay(with_actions(spec, "garbage-exposed", department="enforcement"), _rows(spec, _corpus()), cap=3)
    assert result.changed == 8 and len(result.changes) == 3 and result.capped


def test_alike_cases_are_decided_once() -> None:
    spec = shipped()
    result = replay(spec, _rows(spec, _corpus()))
    # Texts differ on every case, but the shipped rules do not read the text.
    assert result.distinct_inputs < 40 and "text" not in read_keys(spec)
    words = RoutingRule(
        key="market", name="菜市场", when=parse_condition({"field": "text", "op": "contains_any", "value": ["第1"]}),
        then=RuleActions(department="sanitation"),
    )  # fmt: skip
    draft = replace(spec, rules=(words, *spec.rules))
    result = replay(draft, _rows(spec, _corpus()))
    assert result.distinct_inputs == 40
    assert {r.key: r.matched for r in result.per_rule}["market"] == 11  # 第1, 第10 … 第19
