"""A rule in Chinese words, for the editor's list and the diff of two versions: its condition
("类别属于 06010、06042，且时段介于 22:00–06:00") and its actions ("派给 sanitation，紧急，交坐席处理").
Pure: names of codes come from the caller's `label(field, code)`, so this module reads nothing."""

from __future__ import annotations

from collections.abc import Callable

from routing.conditions import DAY_KIND_ZH, FIELDS, OPS_ZH, Condition, DayKindName, Leaf
from routing.notify_targets import shown
from routing.rules import GRADE_ZH, RuleActions

Label = Callable[[str, str], str | None]  # (field, code) → a name, or None
SHOWN_CODES = 8


def no_label(field: str, code: str) -> str | None:
    return None


def _code(field: str, code: str, label: Label) -> str:
    if field == "day_kind" and code in set(DayKindName):
        return DAY_KIND_ZH[DayKindName(code)]
    if field == "grade":
        return GRADE_ZH.get(code, code)
    name = label(field, code)
    return f"{code} {name}" if name else code


def _codes(field: str, values: tuple[str, ...], label: Label) -> str:
    shown = "、".join(_code(field, v, label) for v in values[:SHOWN_CODES])
    return shown + (f" 等 {len(values)} 项" if len(values) > SHOWN_CODES else "")


def describe_leaf(leaf: Leaf, label: Label = no_label) -> str:
    name = FIELDS[leaf.field].name_zh
    if leaf.op == "in":
        return f"{name}属于 {_codes(leaf.field, tuple(leaf.value), label)}"
    if leaf.op == "prefix":
        return f"{name}以 {'、'.join(f'{p}*' for p in leaf.value)} 开头"
    if leaf.op == "contains_any":
        return f"{name}包含任一词：{'、'.join(leaf.value)}"
    if leaf.op == "between":
        start, end = leaf.value
        return f"{name}介于 {start}–{end}" + ("（跨午夜）" if end < start else "")
    if leaf.op == "gte" and leaf.field == "repeat_reporter":
        return f"{name}不少于 {leaf.value} 次"
    return f"{name}{OPS_ZH.get(leaf.op, leaf.op)} {leaf.value:g}"


def describe_condition(c: Condition, label: Label = no_label) -> str:
    """The whole condition in one sentence; nested groups in brackets."""
    if isinstance(c, Leaf):
        return describe_leaf(c, label)
    if not c.children:
        return "无条件（兜底）" if c.mode == "all" else "永不满足（空的“任一”）"
    joiner = "，且" if c.mode == "all" else "，或"
    parts = [describe_condition(ch, label) if isinstance(ch, Leaf) else f"（{describe_condition(ch, label)}）"
             for ch in c.children]  # fmt: skip
    return joiner.join(parts)


def describe_actions(a: RuleActions, label: Label = no_label) -> str:
    parts = [f"派给 {_code('department', a.department, label)}" if a.department else "由坐席选择承办单位"]
    if a.grade:
        parts.append(GRADE_ZH.get(a.grade, a.grade))
    if a.sla_policy:
        parts.append(f"时限策略 {a.sla_policy}")
    parts.append("交坐席处理" if a.hold else "直接派遣")
    if a.require_check:
        parts.append("先由网格员核查")
    if a.notify:
        parts.append(f"抄送 {'、'.join(shown(e) for e in a.notify)}")
    if a.tags:
        parts.append(f"标签 {'、'.join(a.tags)}")
    return "，".join(parts)
