"""The pure matcher: conditions of every field, all/any, order, shadow and disabled rules, expiry, the
reasons it gives, and the department gate's confidence. No database."""

from __future__ import annotations

from datetime import date, time
from typing import Any

import pytest

from routing.conditions import ConditionError, RoutingInputs, evaluate, parse_condition
from routing.rules import RulesError, RuleSetSpec, decision_confidence, parse_rule_set, route
from tests.rules_helpers import shipped, sure

CATCH_ALL = {"key": "z", "name": "兜底", "then": {"hold": True}}


def leaf(field: str, op: str, value: Any) -> dict[str, Any]:
    return {"field": field, "op": op, "value": value}


def rules(*items: dict[str, Any], threshold: float = 0.6) -> RuleSetSpec:
    return parse_rule_set({"settings": {"min_decision_confidence": threshold}, "rules": [*items, CATCH_ALL]})


def rule(key: str, when: dict[str, Any] | None, department: str = "sanitation", **then: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {"key": key, "name": key, "then": {"department": department, **then}}
    if when is not None:
        doc["when"] = when
    return doc


@pytest.mark.parametrize(
    ("cond", "inputs", "holds"),
    [
        (leaf("category", "prefix", ["06"]), sure("06010"), True),
        (leaf("category", "prefix", ["01"]), sure("06010"), False),
        (leaf("grid", "in", ["441402001001001"]), sure("06010", grid_code="441402001001001"), True),
        (leaf("community", "in", ["441402001001"]), sure("06010", grid_code="441402001001007"), True),
        (leaf("street", "in", ["441402002"]), sure("06010", grid_code="441402001001007"), False),
        (leaf("channel", "in", ["camera"]), sure("06010", channel="camera"), True),
        (leaf("text", "contains_any", ["噪音", "施工"]), sure("06010", text="夜间施工太吵"), True),
        (leaf("time_of_day", "between", ["22:00", "06:00"]), sure("08016", local_time=time(23, 30)), True),
        (leaf("time_of_day", "between", ["22:00", "06:00"]), sure("08016", local_time=time(12, 0)), False),
        (leaf("day_kind", "in", ["weekend", "holiday"]), sure("08016", day_kind="holiday"), True),
        (leaf("category_confidence", "lt", 0.5), RoutingInputs("06010", 0.46), True),
        (leaf("repeat_reporter", "gte", 3), sure("06010", repeat_reports=2), False),
        (leaf("event_type", "in", ["garbage_overflow"]), sure("06010", event_type="garbage_overflow"), True),
        (leaf("grade", "in", ["urgent"]), sure("06010"), False),
    ],
)
def test_each_field_holds_or_not(cond: dict[str, Any], inputs: RoutingInputs, holds: bool) -> None:
    ok, why = evaluate(parse_condition(cond), inputs)
    assert ok is holds
    assert why and all(isinstance(w, str) and w for w in why)


def test_all_and_any_combine_and_explain() -> None:
    c = parse_condition(
        {
            "all": [
                leaf("category", "in", ["06010"]),
                {"any": [leaf("community", "in", ["441402001001"]), leaf("text", "contains_any", ["菜市场"])]},
            ]
        }
    )
    ok, why = evaluate(c, sure("06010", text="东门菜市场门口垃圾"))
    assert ok and why[0].startswith("类别 06010 属于") and "含“菜市场”" in why[1]
    ok, why = evaluate(c, sure("06010", text="路边垃圾", grid_code="441402002001001"))
    assert not ok and why[0].startswith("以下均不满足")


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (leaf("colour", "in", ["red"]), "未知的条件字段"),
        (leaf("category", "between", ["a", "b"]), "只能用 in、prefix"),
        (leaf("category", "in", []), "非空的文字列表"),
        (leaf("category", "in", [6010]), "须加引号"),
        (leaf("time_of_day", "between", ["22:00", "22:00"]), "永远不会命中"),
        (leaf("category_confidence", "lt", 0), "永远不会命中"),
        (leaf("category_confidence", "gte", 1.5), "0 到 1"),
        (leaf("day_kind", "in", ["sunday"]), "workday、weekend、holiday"),
        ({"any": []}, "永远不会命中"),
    ],
)
def test_bad_conditions_are_refused_in_chinese(raw: dict[str, Any], words: str) -> None:
    with pytest.raises(ConditionError, match=words):
        parse_condition(raw)


def test_first_active_match_wins_and_the_rules_above_say_why_not() -> None:
    spec = rules(
        rule("off", None),
        rule("night", leaf("time_of_day", "between", ["22:00", "06:00"]), "enforcement"),
        rule("old", leaf("category", "in", ["06010"]), "municipal"),
        rule("garbage", leaf("category", "in", ["06010"])),
    )
    raw = spec.to_json()
    raw["rules"][0]["state"] = "disabled"
    raw["rules"][2]["expires_on"] = "2026-11-30"
    spec = parse_rule_set(raw)
    d = route(spec, sure("06010", local_time=time(9, 0), day=date(2026, 12, 3)))
    assert (d.rule_id, d.rule_position, d.department_code) == ("garbage", 4, "sanitation")
    assert [(s.key, s.reason) for s in d.skipped] == [
        ("off", "已停用"),
        ("night", "时段 09:00 不在 22:00–06:00"),
        ("old", "已于 2026-11-30 到期"),
    ]
    # The day before its expiry the old rule still applies.
    assert route(spec, sure("06010", local_time=time(9, 0), day=date(2026, 11, 30))).rule_id == "old"


def test_a_shadow_rule_is_recorded_and_changes_nothing() -> None:
    spec = parse_rule_set(
        {
            "rules": [
                {**rule("try", leaf("category", "in", ["06010"]), "enforcement"), "state": "shadow"},
                rule("garbage", leaf("category", "in", ["06010"])),
                CATCH_ALL,
            ]
        }
    )
    d = route(spec, sure("06010"))
    assert d.department_code == "sanitation" and d.rule_id == "garbage"
    assert [k for k, _ in d.shadow] == ["try"] and d.shadow[0][1]["department"] == "enforcement"


def test_a_set_without_a_catch_all_last_is_refused() -> None:
    with pytest.raises(RulesError, match="兜底规则"):
        parse_rule_set({"rules": [rule("garbage", leaf("category", "in", ["06010"]))]})


# --- the department gate -------------------------------------------------------------------------------


def guessed(top: list[tuple[str, float]], **kw: Any) -> RoutingInputs:
    return RoutingInputs(category_code=top[0][0], category_confidence=top[0][1], candidates=tuple(top), **kw)


def test_confidence_adds_the_candidates_that_go_to_the_same_department() -> None:
    spec = shipped()
    # 暴露垃圾 0.46, 垃圾满溢 0.31 (sanitation), 占道经营 0.12 (enforcement)
    x = guessed([("06010", 0.46), ("06011", 0.31), ("06002", 0.12)])
    department, p = decision_confidence(spec, x)
    assert department == "sanitation" and p == pytest.approx(0.77)
    d = route(spec, x)
    assert d.auto_dispatch and not d.low_confidence and d.confidence == pytest.approx(0.77)


def test_a_truly_ambiguous_report_waits_for_an_agent() -> None:
    x = guessed([("06010", 0.40), ("01002", 0.35), ("06002", 0.20)])  # sanitation / municipal / enforcement
    d = route(shipped(), x)
    assert d.department_code == "sanitation" and d.confidence == pytest.approx(0.40)
    assert d.low_confidence and not d.auto_dispatch


def test_a_category_chosen_by_a_person_is_certain() -> None:
    d = route(shipped(), sure("06010"))
    assert d.confidence == 1.0 and d.auto_dispatch


def test_the_gate_threshold_is_the_rule_sets_and_confidence_is_a_condition_too() -> None:
    x = guessed([("06010", 0.40), ("01002", 0.35)])
    assert route(rules(rule("g", leaf("category", "in", ["06010"])), threshold=0.3), x).auto_dispatch
    spec = rules(
        rule("unsure", leaf("decision_confidence", "lt", 0.5), "enforcement", hold=True),
        rule("g", leaf("category", "in", ["06010"])),
        rule("m", leaf("category", "in", ["01002"]), "municipal"),
        threshold=0.0,
    )
    # The confidence is computed without the rule that tests it (candidates: g → 0.40, m → 0.35).
    d = route(spec, x)
    assert d.rule_id == "unsure" and not d.auto_dispatch and d.confidence == pytest.approx(0.40)
