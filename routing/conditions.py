"""A routing rule's conditions: one JSON structure that the editor writes, the matcher reads and the
decision record quotes, with the pure functions that check it and test it against a report's inputs.

    {"all": [{"field": "category", "op": "in", "value": ["06010"]},
             {"any": [{"field": "community", "op": "in", "value": ["441402001001"]},
                      {"field": "text", "op": "contains_any", "value": ["菜市场"]}]}]}

A node is `{"all": [...]}` or `{"any": [...]}` of nodes, or a leaf `{"field", "op", "value"}`;
`{"all": []}` holds always (the catch-all). Each leaf's test says in Chinese why it held or did not, for
the case page's explanation ("类别 06010 不在 01*")."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, time
from enum import StrEnum
from typing import Any


class ConditionError(ValueError):
    """A condition the matcher could not read (the message is Chinese: the editor shows it)."""


class DayKindName(StrEnum):
    WORKDAY = "workday"  # 工作日 (a 调休 weekend workday too)
    WEEKEND = "weekend"  # 周末 (a weekend day that is not a make-up workday)
    HOLIDAY = "holiday"  # 节假日 (a public holiday or a city's own day off on a weekday)


DAY_KIND_ZH = {DayKindName.WORKDAY: "工作日", DayKindName.WEEKEND: "周末", DayKindName.HOLIDAY: "节假日"}


@dataclass(frozen=True)
class RoutingInputs:
    """What a rule may look at, gathered once per routing (`routing.decision_records.routing_inputs`)
    and kept on the decision record, so a back-test replays exactly what the rule saw."""

    category_code: str | None = None
    category_confidence: float = 0.0
    # The classifier's candidate categories with their probabilities, best first (the decision's confidence
    # adds those this rule set sends to the same department). Empty when a channel or an agent chose.
    candidates: tuple[tuple[str, float], ...] = ()
    grid_code: str | None = None
    community_code: str | None = None
    street_code: str | None = None
    channel: str | None = None
    text: str = ""
    local_time: time | None = None  # the report's arrival, in the city's time zone
    day: date | None = None  # the report's arrival date there (a rule's expiry is a date)
    day_kind: str | None = None  # a DayKindName, from the working calendar
    repeat_reports: int = 0  # reports from the same phone in the last 30 days, this one excluded
    event_type: str | None = None  # a camera's or a vendor platform's event type
    grade: str | None = None  # a grade the channel or the agent gave

    def to_json(self) -> dict[str, Any]:
        return {
            "category_code": self.category_code,
            "category_confidence": round(self.category_confidence, 4),
            "candidates": [[c, round(p, 4)] for c, p in self.candidates],
            "grid_code": self.grid_code,
            "community_code": self.community_code,
            "street_code": self.street_code,
            "channel": self.channel,
            "text": self.text[:500],
            "local_time": self.local_time.strftime("%H:%M") if self.local_time else None,
            "day": self.day.isoformat() if self.day else None,
            "day_kind": self.day_kind,
            "repeat_reports": self.repeat_reports,
            "event_type": self.event_type,
            "grade": self.grade,
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> RoutingInputs:
        t = d.get("local_time")
        return cls(
            category_code=d.get("category_code"),
            category_confidence=float(d.get("category_confidence") or 0.0),
            candidates=tuple((str(c), float(p)) for c, p in d.get("candidates") or ()),
            grid_code=d.get("grid_code"),
            community_code=d.get("community_code"),
            street_code=d.get("street_code"),
            channel=d.get("channel"),
            text=str(d.get("text") or ""),
            local_time=time.fromisoformat(t) if t else None,
            day=date.fromisoformat(d["day"]) if d.get("day") else None,
            day_kind=d.get("day_kind"),
            repeat_reports=int(d.get("repeat_reports") or 0),
            event_type=d.get("event_type"),
            grade=d.get("grade"),
        )


@dataclass(frozen=True)
class FieldSpec:
    name_zh: str
    ops: tuple[str, ...]
    kind: str  # codes | words | numbers | time | count


# The fields a rule may test, the operators each allows and what its value is.
FIELDS: dict[str, FieldSpec] = {
    "category": FieldSpec("类别", ("in", "prefix"), "codes"),
    "grid": FieldSpec("网格", ("in",), "codes"),
    "community": FieldSpec("社区", ("in",), "codes"),
    "street": FieldSpec("街道", ("in",), "codes"),
    "channel": FieldSpec("渠道", ("in",), "codes"),
    "text": FieldSpec("诉求内容", ("contains_any",), "words"),
    "time_of_day": FieldSpec("时段", ("between",), "time"),
    "day_kind": FieldSpec("日期类型", ("in",), "codes"),
    "category_confidence": FieldSpec("分类置信度", ("lt", "gte"), "numbers"),
    "decision_confidence": FieldSpec("派遣置信度", ("lt", "gte"), "numbers"),
    "repeat_reporter": FieldSpec("30 天内同号码上报次数", ("gte",), "count"),
    "event_type": FieldSpec("设备事件类型", ("in",), "codes"),
    "grade": FieldSpec("等级", ("in",), "codes"),
}
OPS_ZH = {
    "in": "属于",
    "prefix": "以…开头",
    "contains_any": "包含任一词",
    "between": "介于",
    "lt": "低于",
    "gte": "不低于",
}


@dataclass(frozen=True)
class Leaf:
    field: str
    op: str
    value: Any


@dataclass(frozen=True)
class Node:
    mode: str  # all | any
    children: tuple[Node | Leaf, ...] = field(default_factory=tuple)


Condition = Node | Leaf
ALWAYS = Node("all", ())


def _hhmm(value: Any) -> time:
    try:
        return time.fromisoformat(str(value))
    except ValueError:
        raise ConditionError(f"时段 {value!r} 不是 HH:MM") from None


def _codes(spec: FieldSpec, value: Any, where: str) -> tuple[str, ...]:
    numbers = [v for v in value if isinstance(v, int | float)] if isinstance(value, list) else []
    if numbers:  # YAML reads an unquoted 06010 as the number 3080 (octal): it would never match
        raise ConditionError(f"{where}：{spec.name_zh}的代码须加引号（{numbers[0]!r} 被读成了数字）")
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
        raise ConditionError(f"{where}：{spec.name_zh}的值须是非空的文字列表")
    return tuple(v.strip() for v in value)


def _window(value: Any, where: str) -> tuple[str, str]:
    if not isinstance(value, list) or len(value) != 2:
        raise ConditionError(f'{where}：时段须写成 [开始, 结束]，如 ["22:00", "06:00"]')
    start, end = _hhmm(value[0]), _hhmm(value[1])
    if start == end:
        raise ConditionError(f"{where}：时段的开始和结束相同，永远不会命中")
    return start.strftime("%H:%M"), end.strftime("%H:%M")


def _number(spec: FieldSpec, op: str, value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ConditionError(f"{where}：{spec.name_zh}须是 0 到 1 之间的数")
    if op == "lt" and value == 0:
        raise ConditionError(f"{where}：{spec.name_zh}低于 0，永远不会命中")
    return float(value)


def _count(spec: FieldSpec, value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConditionError(f"{where}：{spec.name_zh}须是不小于 1 的整数")
    return value


def _leaf(raw: Mapping[str, Any], where: str) -> Leaf:
    name, op, value = str(raw.get("field")), raw.get("op"), raw.get("value")
    spec = FIELDS.get(name)
    if spec is None:
        raise ConditionError(f"{where}：未知的条件字段 {raw.get('field')!r}")
    if op not in spec.ops:
        raise ConditionError(f"{where}：{spec.name_zh}只能用 {'、'.join(spec.ops)}，不能用 {op!r}")
    checked: Any
    if spec.kind in ("codes", "words"):
        checked = _codes(spec, value, where)
        bad = [v for v in checked if name == "day_kind" and v not in set(DayKindName)]
        if bad:
            raise ConditionError(f"{where}：日期类型只能是 workday、weekend、holiday，不能是 {bad[0]!r}")
    elif spec.kind == "time":
        checked = _window(value, where)
    elif spec.kind == "numbers":
        checked = _number(spec, str(op), value, where)
    else:
        checked = _count(spec, value, where)
    return Leaf(name, str(op), checked)


def parse_condition(raw: Any, where: str = "条件") -> Condition:
    """The condition of a rule as stored (JSON), checked; a message in Chinese naming the part."""
    if raw is None:
        return ALWAYS
    if not isinstance(raw, Mapping):
        raise ConditionError(f'{where}：条件须是 {{"all": [...]}}、{{"any": [...]}} 或一个字段条件')
    modes = [m for m in ("all", "any") if m in raw]
    if modes:
        if len(raw) != 1:
            raise ConditionError(f"{where}：all / any 之外不能有别的键")
        mode = modes[0]
        children = raw[mode]
        if not isinstance(children, list):
            raise ConditionError(f"{where}：{mode} 须是列表")
        if mode == "any" and not children:
            raise ConditionError(f"{where}：any 的列表为空，永远不会命中")
        return Node(mode, tuple(parse_condition(c, f"{where}/{i + 1}") for i, c in enumerate(children)))
    return _leaf(raw, where)


def condition_json(c: Condition) -> dict[str, Any]:
    if isinstance(c, Leaf):
        return {"field": c.field, "op": c.op, "value": list(c.value) if isinstance(c.value, tuple) else c.value}
    return {c.mode: [condition_json(ch) for ch in c.children]}


def leaves(c: Condition) -> list[Leaf]:
    if isinstance(c, Leaf):
        return [c]
    return [leaf for ch in c.children for leaf in leaves(ch)]


# --- testing a condition against inputs -----------------------------------------------------------------


def _shown(value: Any) -> str:
    if isinstance(value, tuple | list):
        return "、".join(str(v) for v in value[:6]) + ("…" if len(value) > 6 else "")
    return str(value)


def _in_window(t: time, start: str, end: str) -> bool:
    a, b = time.fromisoformat(start), time.fromisoformat(end)
    return a <= t < b if a < b else (t >= a or t < b)  # 22:00–06:00 wraps past midnight


def _community(x: RoutingInputs) -> str | None:
    return x.community_code or (x.grid_code[:12] if x.grid_code else None)


def _street(x: RoutingInputs) -> str | None:
    return x.street_code or (x.grid_code[:9] if x.grid_code else None)


# What each field reads of the inputs (a table of getters: the matcher calls this for every leaf it tries).
_READ: dict[str, Any] = {
    "category": lambda x: x.category_code,
    "grid": lambda x: x.grid_code,
    "community": _community,
    "street": _street,
    "channel": lambda x: x.channel,
    "text": lambda x: x.text,
    "time_of_day": lambda x: x.local_time,
    "day_kind": lambda x: x.day_kind,
    "category_confidence": lambda x: x.category_confidence,
    "repeat_reporter": lambda x: x.repeat_reports,
    "event_type": lambda x: x.event_type,
    "grade": lambda x: x.grade,
}


def _seen(leaf: Leaf, x: RoutingInputs, decision_confidence: float | None) -> Any:
    if leaf.field == "decision_confidence":
        return decision_confidence
    return _READ[leaf.field](x)


def leaf_holds(leaf: Leaf, x: RoutingInputs, decision_confidence: float | None = None) -> tuple[bool, str]:
    """Whether the leaf holds for these inputs, and why, in Chinese (the value seen, what was asked)."""
    name = FIELDS[leaf.field].name_zh
    seen = _seen(leaf, x, decision_confidence)
    if leaf.op == "in":
        ok = seen is not None and seen in leaf.value
        return ok, f"{name} {seen or '无'} {'属于' if ok else '不属于'} {_shown(leaf.value)}"
    if leaf.op == "prefix":
        ok = seen is not None and any(str(seen).startswith(p) for p in leaf.value)
        wanted = "、".join(f"{p}*" for p in leaf.value[:6])
        return ok, f"{name} {seen or '无'} {'属于' if ok else '不属于'} {wanted}"
    if leaf.op == "contains_any":
        hit = next((w for w in leaf.value if w in (seen or "")), None)
        return hit is not None, f"{name}含“{hit}”" if hit else f"{name}不含 {_shown(leaf.value)} 中任一词"
    if leaf.op == "between":
        start, end = leaf.value
        ok = seen is not None and _in_window(seen, start, end)
        shown = seen.strftime("%H:%M") if seen is not None else "无"
        return ok, f"{name} {shown} {'在' if ok else '不在'} {start}–{end}"
    if leaf.op in ("lt", "gte"):
        if seen is None:
            return False, f"{name}未知"
        ok = seen < leaf.value if leaf.op == "lt" else seen >= leaf.value
        below = ok if leaf.op == "lt" else not ok
        shown = f"{seen:.2f}" if isinstance(seen, float) else str(seen)
        return ok, f"{name} {shown} {'低于' if below else '不低于'} {leaf.value:g}"
    raise ConditionError(f"未知的运算 {leaf.op!r}")  # parse_condition lets none through


def evaluate(c: Condition, x: RoutingInputs, decision_confidence: float | None = None) -> tuple[bool, list[str]]:
    """Whether the condition holds, with the reasons: for a match, every leaf that made it hold; for a
    miss, the first leaf (or the `any`) that failed it."""
    if isinstance(c, Leaf):
        ok, one = leaf_holds(c, x, decision_confidence)
        return ok, [one]
    if c.mode == "all":
        why_all: list[str] = []
        for ch in c.children:
            ok, why = evaluate(ch, x, decision_confidence)
            if not ok:
                return False, why
            why_all += why
        return True, why_all or ["无条件（兜底规则）"]
    misses: list[str] = []
    for ch in c.children:
        ok, why = evaluate(ch, x, decision_confidence)
        if ok:
            return True, why
        misses += why
    return False, ["以下均不满足：" + "；".join(misses)]


# --- compiled: the matcher's inner loop ---------------------------------------------------------------

# A compiled condition answers for the inputs with the category and its confidence given apart: the
# decision's confidence tries each candidate category in their place without copying the inputs.
Matcher = Callable[[RoutingInputs, str | None, float, float | None], bool]

Getter = Callable[[RoutingInputs, str | None, float, float | None], Any]


def _of_inputs(read: Callable[[RoutingInputs], Any]) -> Getter:
    return lambda x, cat, p, dc: read(x)


_GET: dict[str, Getter] = {
    name: _of_inputs(read) for name, read in _READ.items() if name not in ("category", "category_confidence")
} | {
    "category": lambda x, cat, p, dc: cat,
    "category_confidence": lambda x, cat, p, dc: p,
    "decision_confidence": lambda x, cat, p, dc: dc,
}


def _compile_leaf(leaf: Leaf) -> Matcher:
    get = _GET[leaf.field]
    if leaf.op == "in":
        values = frozenset(leaf.value)
        return lambda x, cat, p, dc: (v := get(x, cat, p, dc)) is not None and v in values
    if leaf.op == "prefix":
        prefixes = tuple(leaf.value)
        return lambda x, cat, p, dc: (v := get(x, cat, p, dc)) is not None and str(v).startswith(prefixes)
    if leaf.op == "contains_any":
        words = tuple(leaf.value)
        return lambda x, cat, p, dc: bool(v := get(x, cat, p, dc)) and any(w in v for w in words)
    if leaf.op == "between":
        start, end = leaf.value
        return lambda x, cat, p, dc: (v := get(x, cat, p, dc)) is not None and _in_window(v, start, end)
    if leaf.op == "lt":
        limit = leaf.value
        return lambda x, cat, p, dc: (v := get(x, cat, p, dc)) is not None and v < limit
    if leaf.op == "gte":
        limit = leaf.value
        return lambda x, cat, p, dc: (v := get(x, cat, p, dc)) is not None and v >= limit
    raise ConditionError(f"未知的运算 {leaf.op!r}")  # parse_condition lets none through


def compile_condition(c: Condition) -> Matcher:
    """`evaluate(c, x)[0]` as one function, without wording the reasons: what the matcher calls for every
    rule on every candidate category of every routing, and a back-test on every case."""
    if isinstance(c, Leaf):
        return _compile_leaf(c)
    parts = tuple(compile_condition(ch) for ch in c.children)
    if len(parts) == 1:
        return parts[0]
    if c.mode == "all":
        return lambda x, cat, p, dc: all(f(x, cat, p, dc) for f in parts)
    return lambda x, cat, p, dc: any(f(x, cat, p, dc) for f in parts)


def category_gate(c: Condition) -> Callable[[str | None], bool] | None:
    """A test of the category alone that the condition cannot hold without (None: it does not restrict
    the category): lets the matcher pass over the rules written for other categories unevaluated."""
    if isinstance(c, Leaf):
        if c.field != "category":
            return None
        if c.op == "in":
            values = frozenset(c.value)
            return lambda cat: cat is not None and cat in values
        prefixes = tuple(c.value)
        return lambda cat: cat is not None and cat.startswith(prefixes)
    gates = [category_gate(ch) for ch in c.children]
    if c.mode == "all":
        known = [g for g in gates if g is not None]
        return (lambda cat: all(g(cat) for g in known)) if known else None
    checks = [g for g in gates if g is not None]
    if not gates or len(checks) < len(gates):
        return None  # one branch of the `any` leaves the category free
    return lambda cat: any(g(cat) for g in checks)


def holds(c: Condition, x: RoutingInputs, decision_confidence: float | None = None) -> bool:
    return compile_condition(c)(x, x.category_code, x.category_confidence, decision_confidence)


def uses_field(c: Condition, name: str) -> bool:
    return any(leaf.field == name for leaf in leaves(c))


def codes_named(c: Condition, name: str) -> Sequence[str]:
    """Every code a condition names for a field (`in` values), for checks against the reference data."""
    return [v for leaf in leaves(c) if leaf.field == name and leaf.op == "in" for v in leaf.value]
