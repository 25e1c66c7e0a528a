"""The editor's checks on a list of rules (never matches, hidden by a rule above, the catch-all) and the
diff of two versions: pure functions, on rules built from the same JSON the editor writes."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

from routing.rule_checks import check_rules, implies, never_matches
from routing.rule_diff import ChangeKind, diff
from routing.rules import RoutingRule, RuleActions, RuleSetSpec, RuleState, parse_rule
from tests.rules_helpers import shipped


def rule(key: str, when: dict[str, Any] | None = None, **kw: Any) -> RoutingRule:
    raw = {"key": key, "name": kw.pop("name", key), "when": when, "then": {"department": "sanitation"}} | kw
    return parse_rule(raw, "测试")


def cat(*codes: str) -> dict[str, Any]:
    return {"field": "category", "op": "in", "value": list(codes)}


def prefix(*p: str) -> dict[str, Any]:
    return {"field": "category", "op": "prefix", "value": list(p)}


def window(a: str, b: str) -> dict[str, Any]:
    return {"field": "time_of_day", "op": "between", "value": [a, b]}


def grid(*codes: str) -> dict[str, Any]:
    return {"field": "grid", "op": "in", "value": list(codes)}


FALLBACK = rule("fallback", None)


def problems_of(*rules: RoutingRule) -> dict[str, tuple[str, ...]]:
    return check_rules([*rules, FALLBACK]).by_rule


def test_the_shipped_rules_have_no_problem() -> None:
    found = check_rules(shipped().rules)
    assert found.count == 0, found


def test_contradictory_leaves_never_match() -> None:
    assert never_matches(rule("a", {"all": [grid("421102001001001"), grid("421102001001002")]}).when)
    assert never_matches(rule("a", {"all": [cat("06010"), prefix("01")]}).when)
    assert never_matches(rule("a", {"all": [prefix("01"), prefix("06")]}).when)
    assert never_matches(rule("a", {"all": [window("08:00", "10:00"), window("22:00", "06:00")]}).when)
    low = {"field": "category_confidence", "op": "lt", "value": 0.5}
    high = {"field": "category_confidence", "op": "gte", "value": 0.7}
    assert never_matches(rule("a", {"all": [low, high]}).when)
    # Nested: an all inside an all, and an any whose every branch is impossible.
    inner = {"all": [cat("06010"), {"all": [cat("06042")]}]}
    assert never_matches(rule("a", inner).when)
    assert never_matches(rule("a", {"any": [inner, {"all": [prefix("01"), prefix("02")]}]}).when)


def test_leaves_that_can_hold_together_are_not_flagged() -> None:
    assert never_matches(rule("a", {"all": [cat("06010", "01001"), prefix("01")]}).when) is None
    assert never_matches(rule("a", {"all": [prefix("01"), prefix("0100")]}).when) is None
    assert never_matches(rule("a", {"all": [window("22:00", "06:00"), window("05:00", "07:00")]}).when) is None
    assert never_matches(rule("a", {"any": [{"all": [cat("1"), cat("2")]}, cat("06010")]}).when) is None
    # A grid and a community: the community may come from elsewhere than the grid code: not guessed at.
    community = {"field": "community", "op": "in", "value": ["421102002001"]}
    assert never_matches(rule("a", {"all": [grid("421102001001001"), community]}).when) is None


def test_a_never_matching_rule_is_reported_with_its_reason() -> None:
    found = problems_of(rule("night", {"all": [window("08:00", "09:00"), window("10:00", "11:00")]}))
    assert found == {"night": ("永远不会命中：几个时段没有重叠",)}


def test_a_rule_below_a_weaker_one_is_hidden() -> None:
    wide = rule("wide", cat("06010", "06042"), name="暴露垃圾")
    narrow = rule("narrow", {"all": [cat("06010"), grid("421102001001001")]})
    found = problems_of(wide, narrow)
    assert list(found) == ["narrow"] and "被第 1 条『暴露垃圾』挡住" in found["narrow"][0]
    # The prefix covers every code of the rule below, with the other leaves the same.
    group = rule("group", {"all": [prefix("06"), grid("421102001001001")]})
    one = rule("one", {"all": [cat("06010", "06042"), grid("421102001001001")]})
    assert list(problems_of(group, one)) == ["one"]
    # A catch-all above hides everything below it and is not last.
    found_set = check_rules([FALLBACK, narrow, replace(FALLBACK, key="end")])
    assert "narrow" in found_set.by_rule and "end" in found_set.by_rule


def test_what_does_not_hide() -> None:
    wide = rule("wide", cat("06010", "06042"))
    other = rule("other", cat("06010", "01001"))
    assert problems_of(wide, other) == {}
    assert problems_of(replace(wide, state=RuleState.SHADOW), rule("x", cat("06010"))) == {}
    assert problems_of(replace(wide, state=RuleState.DISABLED), rule("x", cat("06010"))) == {}
    # An expiring rule above: the rule below wins after it expires.
    assert problems_of(replace(wide, expires_on=date(2026, 12, 31)), rule("x", cat("06010"))) == {}
    later = rule("x", cat("06010"), expires_on="2026-12-01")
    assert list(problems_of(replace(wide, expires_on=date(2026, 12, 31)), later)) == ["x"]
    # A disabled rule below is not reported.
    assert problems_of(wide, replace(rule("x", cat("06010")), state=RuleState.DISABLED)) == {}


def test_implication_is_structural() -> None:
    a = rule("a", {"any": [cat("06010"), prefix("01")]}).when
    b = rule("b", {"any": [cat("01001"), cat("06010")]}).when
    assert implies(b, a) and not implies(a, b)
    words = rule("w", {"field": "text", "op": "contains_any", "value": ["垃圾"]}).when
    more = rule("m", {"field": "text", "op": "contains_any", "value": ["垃圾桶", "建筑垃圾"]}).when
    assert implies(more, words) and not implies(words, more)
    assert implies(rule("t", window("23:00", "01:00")).when, rule("t", window("22:00", "06:00")).when)


def test_the_catch_all_missing_or_not_last() -> None:
    only = check_rules([rule("a", cat("06010"))])
    assert only.overall == ("缺少兜底规则：最后一条须是生效、无条件、不到期的规则",)
    moved = check_rules([FALLBACK, rule("a", cat("06010"))])
    assert moved.overall[0].startswith("兜底规则不在最后")
    assert check_rules([replace(FALLBACK, state=RuleState.SHADOW)]).overall
    assert check_rules([]).overall


def spec(*rules: RoutingRule, **kw: Any) -> RuleSetSpec:
    return RuleSetSpec(rules=(*rules, FALLBACK), **kw)


def test_diff_names_what_changed_rule_by_rule() -> None:
    a, b, c = rule("a", cat("06010"), name="甲"), rule("b", cat("01001"), name="乙"), rule("c", cat("02001"))
    old = spec(a, b, c)
    changed_b = replace(b, then=RuleActions(department="municipal", grade="urgent"), state=RuleState.SHADOW)
    new = spec(rule("n", cat("03001"), name="新"), c, a, changed_b, min_decision_confidence=0.5)
    changes = diff(old, new)
    kinds = [(ch.kind, ch.key) for ch in changes]
    assert kinds == [
        (ChangeKind.SETTINGS, None),
        (ChangeKind.ADDED, "n"),
        (ChangeKind.MOVED, "c"),
        (ChangeKind.CHANGED, "b"),
    ]
    assert changes[0].text == "设置：派遣置信度门槛由“0.6”改为“0.5”"
    assert changes[1].text.startswith("新增第 1 条规则『新』（n）：类别属于 03001时，派给 sanitation")
    assert changes[2].text == "规则『c』（c）从第 3 条移到第 2 条"
    assert changes[3].fields == ("state", "department", "grade")
    assert "承办单位由“sanitation”改为“municipal”" in changes[3].text and "状态由“生效”改为“影子”" in changes[3].text
    back = diff(new, old)
    assert (ChangeKind.REMOVED, "n") in [(ch.kind, ch.key) for ch in back]
    assert diff(old, old) == []


def test_diff_of_a_condition_says_both_in_words() -> None:
    a = rule("a", cat("06010"))
    new = replace(a, when=rule("a", {"all": [cat("06010"), grid("421102001001001")]}).when)
    (change,) = diff(spec(a), spec(new), label=lambda field, code: "暴露垃圾" if code == "06010" else None)
    assert change.fields == ("when",)
    assert change.text == (
        "修改规则『a』（a）：条件由“类别属于 06010 暴露垃圾”改为“类别属于 06010 暴露垃圾，且网格属于 421102001001001”"
    )


def test_a_group_of_one_is_no_change() -> None:
    a = rule("a", cat("06010"))
    grouped = replace(a, when=rule("a", {"all": [cat("06010")]}).when)
    assert grouped.when != a.when and diff(spec(a), spec(grouped)) == []
