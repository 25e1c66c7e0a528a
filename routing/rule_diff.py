"""What changed between two versions of the rules (or a version and the draft), rule by rule by key, each
change with a Chinese sentence for the diff page. Pure.

Moves are the rules that left the longest run of rules kept in the same order, so a rule inserted at
the top is one addition, not every rule below it "moved"."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from routing.conditions import Condition, Node
from routing.rule_words import Label, describe_actions, describe_condition, no_label
from routing.rules import GRADE_ZH, RULE_STATE_ZH, RoutingRule, RuleSetSpec


class ChangeKind(StrEnum):
    ADDED = "added"
    REMOVED = "removed"
    MOVED = "moved"
    CHANGED = "changed"
    SETTINGS = "settings"


CHANGE_ZH = {
    ChangeKind.ADDED: "新增",
    ChangeKind.REMOVED: "删除",
    ChangeKind.MOVED: "移动",
    ChangeKind.CHANGED: "修改",
    ChangeKind.SETTINGS: "设置",
}
FIELD_ZH = {
    "name": "名称",
    "state": "状态",
    "expires_on": "到期日",
    "when": "条件",
    "department": "承办单位",
    "grade": "等级",
    "sla_policy": "时限策略",
    "hold": "交坐席处理",
    "require_check": "先核查",
    "notify": "抄送",
    "tags": "标签",
    "default_grade": "默认等级",
    "min_decision_confidence": "派遣置信度门槛",
}


@dataclass(frozen=True)
class Change:
    kind: ChangeKind
    key: str | None  # None for the settings
    fields: tuple[str, ...]  # what changed (FIELD_ZH keys); empty for added / removed / moved
    text: str


def _common_order(old: list[str], new: list[str]) -> set[str]:
    """The keys of a longest common subsequence of the two orders (the rules that kept their order)."""
    n, m = len(old), len(new)
    best = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            best[i][j] = best[i + 1][j + 1] + 1 if old[i] == new[j] else max(best[i + 1][j], best[i][j + 1])
    kept: set[str] = set()
    i = j = 0
    while i < n and j < m:
        if old[i] == new[j]:
            kept.add(old[i])
            i, j = i + 1, j + 1
        elif best[i + 1][j] >= best[i][j + 1]:
            i += 1
        else:
            j += 1
    return kept


def _yes(v: bool) -> str:
    return "是" if v else "否"


def _value(name: str, v: Any, label: Label) -> str:
    if v is None or v == () or v == "":
        return "无"
    if name == "state":
        return RULE_STATE_ZH[v]
    if name in ("grade", "default_grade"):
        return str(GRADE_ZH.get(v, v))
    if name == "department":
        named = label("department", str(v))
        return f"{v} {named}" if named else str(v)
    if isinstance(v, bool):
        return _yes(v)
    if isinstance(v, tuple):
        return "、".join(str(x) for x in v)
    return str(v)


def simplified(c: Condition) -> Condition:
    """The same condition without groups of one (all[x] and any[x] are x), so such a rewrite is no change."""
    if isinstance(c, Node):
        if len(c.children) == 1:
            return simplified(c.children[0])
        return Node(c.mode, tuple(simplified(ch) for ch in c.children))
    return c


def _rule_fields(r: RoutingRule) -> dict[str, Any]:
    a = r.then
    return {
        "name": r.name,
        "state": r.state,
        "expires_on": r.expires_on.isoformat() if r.expires_on else None,
        "when": simplified(r.when),
        "department": a.department,
        "grade": a.grade,
        "sla_policy": a.sla_policy,
        "hold": a.hold,
        "require_check": a.require_check,
        "notify": a.notify,
        "tags": a.tags,
    }


def _changed(old: RoutingRule, new: RoutingRule, label: Label) -> Change | None:
    before, after = _rule_fields(old), _rule_fields(new)
    names = tuple(k for k in before if before[k] != after[k])
    if not names:
        return None
    parts = []
    for k in names:
        if k == "when":
            was, now = describe_condition(old.when, label), describe_condition(new.when, label)
        else:
            was, now = _value(k, before[k], label), _value(k, after[k], label)
        parts.append(f"{FIELD_ZH[k]}由“{was}”改为“{now}”")
    return Change(ChangeKind.CHANGED, new.key, names, f"修改规则『{new.name}』（{new.key}）：{'；'.join(parts)}")


def diff(old: RuleSetSpec, new: RuleSetSpec, label: Label = no_label) -> list[Change]:
    """From `old` to `new`: the settings, then rules removed, added, moved and changed (in `new`'s order)."""
    changes: list[Change] = []
    settings = [k for k in ("default_grade", "min_decision_confidence") if getattr(old, k) != getattr(new, k)]
    if settings:
        said = "；".join(
            f"{FIELD_ZH[k]}由“{_value(k, getattr(old, k), label)}”改为“{_value(k, getattr(new, k), label)}”"
            for k in settings
        )
        changes.append(Change(ChangeKind.SETTINGS, None, tuple(settings), f"设置：{said}"))
    before = {r.key: (i, r) for i, r in enumerate(old.rules, start=1)}
    after = {r.key: (i, r) for i, r in enumerate(new.rules, start=1)}
    for key, (i, r) in before.items():
        if key not in after:
            changes.append(Change(ChangeKind.REMOVED, key, (), f"删除第 {i} 条规则『{r.name}』（{key}）"))
    both_old = [r.key for r in old.rules if r.key in after]
    both_new = [r.key for r in new.rules if r.key in before]
    kept = _common_order(both_old, both_new)
    for key, (i, r) in after.items():
        if key not in before:
            where = describe_condition(r.when, label)
            text = f"新增第 {i} 条规则『{r.name}』（{key}）：{where}时，{describe_actions(r.then, label)}"
            changes.append(Change(ChangeKind.ADDED, key, (), text))
            continue
        was, old_rule = before[key]
        if key not in kept:
            text = f"规则『{r.name}』（{key}）从第 {was} 条移到第 {i} 条"
            changes.append(Change(ChangeKind.MOVED, key, (), text))
        found = _changed(old_rule, r, label)
        if found is not None:
            changes.append(found)
    return changes
