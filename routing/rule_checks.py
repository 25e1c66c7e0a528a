"""What is wrong with a list of rules, per rule and in Chinese, and what changed between two versions.
Pure functions (no I/O): the editor shows them inline, publishing refuses a draft with any problem.

The checks are sound, not complete: "never matches" and "hidden by the rule above" are said only when
they follow from the conditions alone (contradictory leaves; a condition above implied by this one);
a rule that only some data could show unreachable is left alone rather than guessed at."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import time

from routing.conditions import FIELDS, Condition, Leaf, Node
from routing.rules import RoutingRule, RuleState

# Fields whose `in` values are exact alternatives: two `in` leaves under `all` need a common value.
_EXACT = ("category", "grid", "community", "street", "channel", "day_kind", "event_type", "grade")
_NUMBERS = ("category_confidence", "decision_confidence")
_DAY_MINUTES = 24 * 60


@dataclass(frozen=True)
class Problems:
    by_rule: dict[str, tuple[str, ...]] = field(default_factory=dict)  # rule key → its problems
    overall: tuple[str, ...] = ()  # the set's own (catch-all missing or not last)

    @property
    def count(self) -> int:
        return len(self.overall) + sum(len(p) for p in self.by_rule.values())

    def first(self) -> str | None:
        if self.overall:
            return self.overall[0]
        for key, found in self.by_rule.items():
            if found:
                return f"规则 {key}：{found[0]}"
        return None


# --- never matches --------------------------------------------------------------------------------------


def _minutes(start: str, end: str) -> frozenset[int]:
    """The minutes of the day a window covers (22:00–06:00 wraps past midnight)."""
    a, b = time.fromisoformat(start), time.fromisoformat(end)
    lo, hi = a.hour * 60 + a.minute, b.hour * 60 + b.minute
    if lo < hi:
        return frozenset(range(lo, hi))
    return frozenset(range(lo, _DAY_MINUTES)) | frozenset(range(0, hi))


def _conjoined_leaves(node: Node) -> list[Leaf]:
    """The leaves that must all hold for an `all` node: its own and those of `all` nodes inside it."""
    found: list[Leaf] = []
    for ch in node.children:
        if isinstance(ch, Leaf):
            found.append(ch)
        elif ch.mode == "all":
            found += _conjoined_leaves(ch)
        elif len(ch.children) == 1:  # an `any` of one is that one
            only = ch.children[0]
            if isinstance(only, Leaf):
                found.append(only)
    return found


def _prefixes_compatible(groups: list[tuple[str, ...]]) -> bool:
    """Whether some code starts with one prefix of every group: then the longest prefix chosen is itself
    such a code's start, so it is enough to try each prefix given."""
    return any(all(any(p.startswith(q) for q in g) for g in groups) for g in groups for p in g)


def _contradiction(leaves: list[Leaf]) -> str | None:
    """Why leaves that must all hold cannot (a Chinese sentence), or None."""
    for name in _EXACT:
        sets = [frozenset(leaf.value) for leaf in leaves if leaf.field == name and leaf.op == "in"]
        allowed = frozenset.intersection(*sets) if sets else None
        if allowed is not None and not allowed:
            return f"同时要求{_zh(name)}属于几组没有共同值的代码"
        if name == "category":
            groups = [tuple(leaf.value) for leaf in leaves if leaf.field == name and leaf.op == "prefix"]
            if allowed is not None and groups:
                if not any(all(any(c.startswith(p) for p in g) for g in groups) for c in allowed):
                    return "类别代码都不以要求的前缀开头"
            elif groups and not _prefixes_compatible(groups):
                return "类别不可能同时以这几组前缀开头"
    for name in _NUMBERS:
        lows = [float(leaf.value) for leaf in leaves if leaf.field == name and leaf.op == "gte"]
        highs = [float(leaf.value) for leaf in leaves if leaf.field == name and leaf.op == "lt"]
        if lows and highs and max(lows) >= min(highs):
            return f"{_zh(name)}不可能既不低于 {max(lows):g} 又低于 {min(highs):g}"
        if lows and max(lows) > 1:
            return f"{_zh(name)}不可能高于 1"
    windows = [_minutes(*leaf.value) for leaf in leaves if leaf.field == "time_of_day" and leaf.op == "between"]
    if windows and not frozenset.intersection(*windows):
        return "几个时段没有重叠"
    return None


def never_matches(c: Condition) -> str | None:
    """Why the condition can hold for no report at all, or None when it may hold."""
    if isinstance(c, Leaf):
        if c.op in ("in", "prefix", "contains_any") and not c.value:
            return f"{_zh(c.field)}的值为空"
        if c.op == "between" and not _minutes(*c.value):
            return "时段为空（开始与结束相同）"
        if c.op == "lt" and float(c.value) <= 0:
            return f"{_zh(c.field)}不可能低于 0"
        if c.op == "gte" and c.field in _NUMBERS and float(c.value) > 1:
            return f"{_zh(c.field)}不可能高于 1"
        return None
    if c.mode == "any":
        if not c.children:
            return "“任一满足”的条件为空"
        reasons = [never_matches(ch) for ch in c.children]
        return "“任一满足”的每一项都不可能满足" if all(reasons) else None
    for ch in c.children:
        why = never_matches(ch)
        if why:
            return why
    return _contradiction(_conjoined_leaves(c))


def _zh(name: str) -> str:
    return FIELDS[name].name_zh if name in FIELDS else name


# --- implied by the rule above --------------------------------------------------------------------------


def _leaf_implies(b: Leaf, a: Leaf) -> bool:
    """Every report for which leaf b holds has leaf a hold too (b ⇒ a), for the cases decidable alone."""
    if b == a:
        return True
    if b.field != a.field:
        return False
    if a.op == "in" and b.op == "in":
        return set(b.value) <= set(a.value)
    if a.op == "prefix" and b.op == "in":
        return all(any(str(code).startswith(p) for p in a.value) for code in b.value)
    if a.op == "prefix" and b.op == "prefix":
        return all(any(q.startswith(p) for p in a.value) for q in b.value)
    if a.op == "contains_any" and b.op == "contains_any":
        return all(any(w in word for w in a.value) for word in b.value)
    if a.op == "between" and b.op == "between":
        return _minutes(*b.value) <= _minutes(*a.value)
    if a.op == b.op == "lt":
        return float(b.value) <= float(a.value)
    if a.op == b.op == "gte":
        return float(b.value) >= float(a.value)
    return False


def implies(b: Condition, a: Condition) -> bool:
    """Whether b ⇒ a follows from the structure alone (True is always right; False may miss some)."""
    if isinstance(a, Node) and a.mode == "all" and not a.children:
        return True
    if isinstance(b, Node) and b.mode == "any" and b.children:
        return all(implies(ch, a) for ch in b.children)
    if isinstance(a, Node):
        if a.mode == "all":
            return all(implies(b, ch) for ch in a.children)
        return any(implies(b, ch) for ch in a.children)
    if isinstance(b, Node):
        return b.mode == "all" and any(implies(ch, a) for ch in b.children)
    return _leaf_implies(b, a)


def _shadows(above: RoutingRule, below: RoutingRule) -> bool:
    """Whether `above` wins every report `below` would match, on every day `below` applies."""
    if above.state is not RuleState.ACTIVE:
        return False
    if above.expires_on is not None and (below.expires_on is None or above.expires_on < below.expires_on):
        return False  # after `above` expires, `below` can win
    return implies(below.when, above.when)


# --- the set ------------------------------------------------------------------------------------------


def check_rules(rules: Sequence[RoutingRule]) -> Problems:
    """Every rule's problems (a rule that cannot match, one hidden by a rule above), and the set's: the
    catch-all missing or not last. An expired rule is not a problem: it is passed over, as documented."""
    by_rule: dict[str, list[str]] = {r.key: [] for r in rules}
    reachable: list[tuple[int, RoutingRule]] = []
    for i, rule in enumerate(rules, start=1):
        if rule.state is RuleState.DISABLED:
            continue
        why = never_matches(rule.when)
        if why:
            by_rule[rule.key].append(f"永远不会命中：{why}")
            continue
        hider = next((j for j, above in reachable if _shadows(above, rule)), None)
        if hider is not None:
            above = rules[hider - 1]
            by_rule[rule.key].append(f"被第 {hider} 条『{above.name}』挡住：满足本条的报告都先命中那一条")
        if rule.state is RuleState.ACTIVE:
            reachable.append((i, rule))
    overall: list[str] = []
    last = rules[-1] if rules else None
    if last is None or not (last.catch_all and last.state is RuleState.ACTIVE and last.expires_on is None):
        others = [r for r in rules[:-1] if r.catch_all and r.state is RuleState.ACTIVE]
        overall.append(
            "兜底规则不在最后：请把无条件的生效规则移到最后一条"
            if others
            else "缺少兜底规则：最后一条须是生效、无条件、不到期的规则"
        )
    return Problems({k: tuple(v) for k, v in by_rule.items() if v}, tuple(overall))
