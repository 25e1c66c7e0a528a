"""Routing rules as data (routing/data/rules.yaml, or a city's own file) and the pure matcher: which
department gets a category, at which grade, dispatched at once or held for an agent.

Time limits are not routing's: they are SLA policies (`routing.sla_policies`), counted on the working
calendar (`routing.calendar`) by the clocks a dispatch starts (`routing.clocks`). A rules file that still
carries `calendar:` or a rule's `dispatch_limit` / `handle_limit` is refused, naming where they went."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from cases.reference import ReferenceCodes

DEFAULT_RULES = Path(__file__).parent / "data" / "rules.yaml"
GRADES = ("normal", "urgent", "critical")  # 一般 / 紧急 / 特急


class RulesError(ValueError):
    pass


@dataclass(frozen=True)
class RoutingRule:
    id: str
    department: str
    categories: frozenset[str] = frozenset()
    prefixes: tuple[str, ...] = ()
    grade: str | None = None
    auto_dispatch: bool = True
    # 核查: a grid worker of the case's grid must find the problem on site before 立案 (routing.verification).
    require_check: bool = False

    def matches(self, category_code: str | None) -> bool:
        if category_code is None:
            return False
        return category_code in self.categories or any(category_code.startswith(p) for p in self.prefixes)


@dataclass(frozen=True)
class RoutingTable:
    rules: tuple[RoutingRule, ...]
    default_grade: str = "normal"


@dataclass(frozen=True)
class RoutingDecision:
    department_code: str | None
    grade: str
    rule_id: str | None
    auto_dispatch: bool
    reasons: list[str] = field(default_factory=list)
    require_check: bool = False  # the rule asks for 核查 before 立案


MOVED = "time limits are SLA policies now (routing/data/sla_policies.yaml, `hotline sla import`)"
_MOVED_KEYS = ("dispatch_limit", "handle_limit")


def _refuse_moved(raw: dict[str, Any], where: str) -> None:
    for key in _MOVED_KEYS:
        if key in raw:
            raise RulesError(f"{where}: `{key}` is no longer read: {MOVED}")


def _require_check(raw: dict[str, Any], where: str) -> bool:
    value = raw.get("require_check", False)
    if not isinstance(value, bool):
        raise RulesError(f"{where}: require_check must be true or false")
    return value


def _check_reference(rule: RoutingRule, where: str, ref: ReferenceCodes) -> None:
    """A rule naming a department or category the reference data does not have would send cases nowhere
    (or never match): refuse the file, naming the value."""
    if rule.department not in ref.departments:
        raise RulesError(f"{where}: unknown department {rule.department!r} (not in the department table)")
    for code in sorted(rule.categories):
        if code not in ref.categories:
            raise RulesError(f"{where}: unknown category {code!r} (not an enabled matter code of the taxonomy)")
    for prefix in rule.prefixes:
        if not any(c.startswith(prefix) for c in ref.categories):
            raise RulesError(f"{where}: prefix {prefix!r} matches no category of the taxonomy")


def parse_rules(
    doc: dict[str, Any],
    reference: ReferenceCodes | None = None,
    lines: list[int] | None = None,
    source: str = "rules",
) -> RoutingTable:
    """The routing table of a parsed rules document. With `reference`, every department, category and
    prefix a rule names must exist there; `lines` (the line of each rule) make the messages point at it."""
    if "calendar" in doc:
        raise RulesError(
            f"{source}: `calendar` is no longer read: the working calendar is the calendar table "
            "(`hotline calendar import`) and HOTLINE_WORKING_WEEKDAYS / HOTLINE_WORKING_PERIODS"
        )
    rules: list[RoutingRule] = []
    seen: set[str] = set()
    raw_rules = doc.get("rules", [])
    if not isinstance(raw_rules, list):
        raise RulesError(f"{source}: `rules` must be a list")
    for i, r in enumerate(raw_rules):
        line = f":{lines[i]}" if lines and i < len(lines) else ""
        if not isinstance(r, dict):
            raise RulesError(f"{source}{line}: rule {i + 1} is not a mapping")
        rid = str(r.get("id") or f"rule-{i + 1}")
        where = f"{source}{line}: rule {rid}"
        if rid in seen:
            raise RulesError(f"{where}: duplicate id")
        seen.add(rid)
        if "department" not in r:
            raise RulesError(f"{where}: no department")
        _refuse_moved(r, where)
        grade = r.get("grade")
        if grade is not None and grade not in GRADES:
            raise RulesError(f"{where}: grade must be one of {GRADES}")
        for key in ("categories", "prefixes"):
            # YAML reads an unquoted 06010 as the number 3080 (octal): it would never match.
            numbers = [c for c in r.get(key, []) if not isinstance(c, str)]
            if numbers:
                raise RulesError(f"{where}: {key} must be quoted strings ({numbers[0]!r} was read as a number)")
        rule = RoutingRule(
            id=rid,
            department=str(r["department"]),
            categories=frozenset(str(c) for c in r.get("categories", [])),
            prefixes=tuple(str(p) for p in r.get("prefixes", [])),
            grade=grade,
            auto_dispatch=bool(r.get("auto_dispatch", True)),
            require_check=_require_check(r, where),
        )
        if reference is not None:
            _check_reference(rule, where, reference)
        rules.append(rule)
    d = doc.get("defaults", {})
    _refuse_moved(d, f"{source}: defaults")
    if d.get("grade", "normal") not in GRADES:
        raise RulesError(f"{source}: defaults: grade must be one of {GRADES}")
    return RoutingTable(rules=tuple(rules), default_grade=str(d.get("grade", "normal")))


def _rule_lines(text: str) -> list[int]:
    """The 1-based line where each item of the top-level `rules` list starts."""
    root = yaml.compose(text)
    if not isinstance(root, yaml.MappingNode):
        return []
    for key, value in root.value:
        if isinstance(key, yaml.ScalarNode) and key.value == "rules" and isinstance(value, yaml.SequenceNode):
            return [item.start_mark.line + 1 for item in value.value]
    return []


def load_rules(path: Path, reference: ReferenceCodes | None = None) -> RoutingTable:
    """Load a rules file. With `reference` (the codes in the database), a rule naming an unknown
    department, category or prefix refuses the whole file, the message naming the value, line and rule."""
    text = path.read_text(encoding="utf-8")
    try:
        doc = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise RulesError(f"{path}: not valid YAML: {exc}".replace("\n", " ")) from exc
    if not isinstance(doc, dict):
        raise RulesError(f"{path}: expected a mapping at the top level")
    return parse_rules(doc, reference, _rule_lines(text), source=str(path))


def route(table: RoutingTable, category_code: str | None, grade: str | None = None) -> RoutingDecision:
    """First matching rule wins. No match (or no category) → no department: an agent decides. The grade
    given (an agent's, a channel's) stands; otherwise the rule's, otherwise the table's default."""
    rule = next((r for r in table.rules if r.matches(category_code)), None)
    g = grade or (rule.grade if rule and rule.grade else table.default_grade)
    reasons = [f"rule {rule.id}" if rule else "no rule matches the category"]
    return RoutingDecision(
        department_code=rule.department if rule else None,
        grade=g,
        rule_id=rule.id if rule else None,
        auto_dispatch=bool(rule and rule.auto_dispatch),
        reasons=reasons,
        require_check=bool(rule and rule.require_check),
    )
