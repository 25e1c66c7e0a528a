"""The rule form of the editor, both ways: a rule as the form's fields (to show it), and the posted fields
as the rule JSON `routing.rules.parse_rule` reads (to save it). Pure: the checks that need the database
(known codes, unique key) are the use case's.

Conditions are rows (field, operator, value) combined with 全部满足 / 任一满足; a condition with nested
groups does not fit rows and is edited as JSON (the same structure as `routing.conditions`) in the
advanced box, which, when filled in, is used instead of the rows."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from routing.conditions import FIELDS, OPS_ZH, Condition, Leaf, condition_json
from routing.rules import RoutingRule

MAX_ROWS = 20
BLANK_ROWS = 2  # empty rows under the rule's own, for adding a condition without script
MIN_ROWS = 4
VALUE_MAX, JSON_MAX, LIST_MAX = 2000, 20000, 1000
_CODES_SPLIT = re.compile(r"[,，、;；\s]+")
_WORDS_SPLIT = re.compile(r"[,，、;；]+")
_WINDOW = re.compile(r"^\s*(\d{1,2}:\d{2})\s*[-–—~至到]\s*(\d{1,2}:\d{2})\s*$")


class FormProblem(ValueError):
    """A field that cannot be read (the message is Chinese, for the form)."""


@dataclass
class ConditionRow:
    field: str = ""
    op: str = ""
    value: str = ""


@dataclass
class RuleFormData:
    """The form's fields, as text: what was posted (re-shown after a refusal) or a rule shown."""

    key: str = ""
    name: str = ""
    state: str = "active"
    expires_on: str = ""
    mode: str = "all"  # all | any: how the rows combine
    rows: list[ConditionRow] = field(default_factory=list)
    advanced: str = ""  # the condition as JSON, when it has nested groups
    department: str = ""
    grade: str = ""
    sla_policy: str = ""
    hold: bool = False
    require_check: bool = False
    notify: str = ""
    tags: str = ""

    def padded_rows(self) -> list[ConditionRow]:
        blank = max(BLANK_ROWS, MIN_ROWS - len(self.rows))
        return self.rows + [ConditionRow() for _ in range(blank)]


def _value_text(leaf: Leaf) -> str:
    if leaf.op == "between":
        return f"{leaf.value[0]}-{leaf.value[1]}"
    if isinstance(leaf.value, tuple | list):
        return ", ".join(str(v) for v in leaf.value)
    return f"{leaf.value:g}" if isinstance(leaf.value, float) else str(leaf.value)


def _rows_of(c: Condition) -> tuple[str, list[ConditionRow]] | None:
    """The condition as rows under one mode, or None when it nests groups (then it is edited as JSON)."""
    if isinstance(c, Leaf):
        return "all", [ConditionRow(c.field, c.op, _value_text(c))]
    if not all(isinstance(ch, Leaf) for ch in c.children):
        return None
    return c.mode, [ConditionRow(ch.field, ch.op, _value_text(ch)) for ch in c.children if isinstance(ch, Leaf)]


def form_of(rule: RoutingRule) -> RuleFormData:
    a = rule.then
    flat = _rows_of(rule.when)
    mode, rows = flat if flat is not None else ("all", [])
    advanced = "" if flat is not None else json.dumps(condition_json(rule.when), ensure_ascii=False, indent=2)
    return RuleFormData(
        key=rule.key,
        name=rule.name,
        state=rule.state.value,
        expires_on=rule.expires_on.isoformat() if rule.expires_on else "",
        mode=mode,
        rows=rows,
        advanced=advanced,
        department=a.department or "",
        grade=a.grade or "",
        sla_policy=a.sla_policy or "",
        hold=a.hold,
        require_check=a.require_check,
        notify=", ".join(a.notify),
        tags=", ".join(a.tags),
    )


def _leaf_value(row: ConditionRow, where: str) -> Any:
    spec = FIELDS.get(row.field)
    if spec is None:
        raise FormProblem(f"{where}：请选择条件字段")
    text = row.value.strip()
    if spec.kind == "codes":
        return [v for v in _CODES_SPLIT.split(text) if v]
    if spec.kind == "words":
        return [v.strip() for v in _WORDS_SPLIT.split(text) if v.strip()]
    if spec.kind == "time":
        m = _WINDOW.match(text)
        if not m:
            raise FormProblem(f"{where}：时段请写成 开始-结束，如 22:00-06:00")
        return [m.group(1).zfill(5), m.group(2).zfill(5)]
    try:
        number = float(text)
    except ValueError:
        raise FormProblem(f"{where}：{spec.name_zh}须是数字") from None
    if spec.kind == "count":
        if not number.is_integer():
            raise FormProblem(f"{where}：{spec.name_zh}须是整数")
        return int(number)
    return number


def condition_of(data: RuleFormData) -> dict[str, Any] | None:
    """The condition JSON of the form: the advanced box when filled in, else the rows that have a field
    (none: the rule holds always, a catch-all)."""
    if data.advanced.strip():
        try:
            parsed = json.loads(data.advanced)
        except json.JSONDecodeError as exc:
            raise FormProblem(f"高级条件不是有效的 JSON（第 {exc.lineno} 行第 {exc.colno} 列）") from None
        if parsed is not None and not isinstance(parsed, dict):
            raise FormProblem('高级条件须是 {"all": [...]}、{"any": [...]} 或一个字段条件')
        return parsed
    if data.mode not in ("all", "any"):
        raise FormProblem("请选择 全部满足 或 任一满足")
    leaves = []
    for i, row in enumerate(data.rows, start=1):
        if not row.field and not row.value.strip():
            continue
        value = _leaf_value(row, f"第 {i} 个条件")
        spec = FIELDS[row.field]
        op = row.op or (spec.ops[0] if len(spec.ops) == 1 else "")  # a field with one operator needs no choice
        if op not in spec.ops:
            allowed = "、".join(OPS_ZH[o] for o in spec.ops)
            raise FormProblem(f"第 {i} 个条件：请选择运算（{spec.name_zh}可用：{allowed}）")
        leaves.append({"field": row.field, "op": op, "value": value})
    if not leaves:
        return None
    if len(leaves) == 1:
        return leaves[0]  # one condition is itself, whichever the mode: as a rule file writes it
    return {data.mode: leaves}


def _list(text: str) -> list[str]:
    return [v.strip() for v in _WORDS_SPLIT.split(text) if v.strip()]


def rule_json(data: RuleFormData) -> dict[str, Any]:
    """The posted form as the rule JSON `parse_rule` checks."""
    doc: dict[str, Any] = {"key": data.key.strip(), "name": data.name.strip(), "state": data.state}
    if data.expires_on.strip():
        doc["expires_on"] = data.expires_on.strip()
    doc["when"] = condition_of(data)
    doc["then"] = {
        "department": data.department.strip() or None,
        "grade": data.grade or None,
        "sla_policy": data.sla_policy.strip() or None,
        "hold": data.hold,
        "require_check": data.require_check,
        "notify": _list(data.notify),
        "tags": _list(data.tags),
    }
    return doc


def form_from_post(fields: dict[str, Any]) -> RuleFormData:
    """The form's fields from the posted values (each cut to a bounded length; rows zipped)."""

    def text(name: str, limit: int = VALUE_MAX) -> str:
        value = fields.get(name, "")
        return (value if isinstance(value, str) else "")[:limit]

    def many(name: str) -> list[str]:
        value = fields.get(name) or []
        return [v[:VALUE_MAX] for v in (value if isinstance(value, list) else [value]) if isinstance(v, str)]

    names, ops, values = many("cond_field"), many("cond_op"), many("cond_value")
    width = max(len(names), len(ops), len(values))
    rows = [
        ConditionRow(
            names[i] if i < len(names) else "", ops[i] if i < len(ops) else "", values[i] if i < len(values) else ""
        )
        for i in range(min(width, MAX_ROWS))
    ]
    return RuleFormData(
        key=text("rule_key", 100),
        name=text("name", 200),
        state=text("state", 16) or "active",
        expires_on=text("expires_on", 20),
        mode=text("cond_mode", 8) or "all",
        rows=[r for r in rows if r.field or r.value.strip()],
        advanced=text("cond_json", JSON_MAX),
        department=text("department", 64),
        grade=text("grade", 16),
        sla_policy=text("sla_policy", 64),
        hold=text("dispatch", 16) == "hold",
        require_check=text("require_check", 8) in ("1", "on", "true"),
        notify=text("notify", LIST_MAX),
        tags=text("tags", LIST_MAX),
    )
