"""Routing rules as data (routing/data/rules.yaml, or a city's own file) and the pure matcher."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from cases.reference import ReferenceCodes
from routing.sla import TimeLimit, WorkingCalendar, deadline

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
    dispatch_limit: TimeLimit | None = None
    handle_limit: TimeLimit | None = None
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
    calendar: WorkingCalendar
    default_grade: str = "normal"
    default_dispatch_limit: TimeLimit = TimeLimit(1, "working_hours")
    default_handle_limit: TimeLimit = TimeLimit(2, "working_days")


@dataclass(frozen=True)
class RoutingDecision:
    department_code: str | None
    grade: str
    rule_id: str | None
    auto_dispatch: bool
    dispatch_deadline: datetime
    handle_deadline: datetime
    reasons: list[str] = field(default_factory=list)
    require_check: bool = False  # the rule asks for 核查 before 立案


def _limit(raw: Any, where: str) -> TimeLimit | None:
    if raw is None:
        return None
    try:
        unit = raw["unit"]
        if unit not in ("hours", "days", "working_hours", "working_days"):
            raise RulesError(f"{where}: unknown unit {unit!r}")
        return TimeLimit(float(raw["amount"]), unit)
    except (KeyError, TypeError) as exc:
        raise RulesError(f"{where}: a time limit needs amount and unit") from exc


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
    tz: str,
    reference: ReferenceCodes | None = None,
    lines: list[int] | None = None,
    source: str = "rules",
) -> RoutingTable:
    """The routing table of a parsed rules document. With `reference`, every department, category and
    prefix a rule names must exist there; `lines` (the line of each rule) make the messages point at it."""
    cal_doc = doc.get("calendar", {})
    cal = WorkingCalendar(
        tz=ZoneInfo(tz),
        weekdays=frozenset(int(d) for d in cal_doc.get("weekdays", [1, 2, 3, 4, 5])),
        periods=tuple(
            (time.fromisoformat(a), time.fromisoformat(b))
            for a, b in cal_doc.get("periods", [["08:30", "12:00"], ["14:00", "17:30"]])
        ),
        holidays=frozenset(date.fromisoformat(str(d)) for d in cal_doc.get("holidays", [])),
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
        grade = r.get("grade")
        if grade is not None and grade not in GRADES:
            raise RulesError(f"{where}: grade must be one of {GRADES}")
        if not isinstance(r.get("require_check", False), bool):
            raise RulesError(f"{where}: require_check must be true or false")
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
            dispatch_limit=_limit(r.get("dispatch_limit"), where),
            handle_limit=_limit(r.get("handle_limit"), where),
            auto_dispatch=bool(r.get("auto_dispatch", True)),
            require_check=r.get("require_check", False),
        )
        if reference is not None:
            _check_reference(rule, where, reference)
        rules.append(rule)
    d = doc.get("defaults", {})
    if d.get("grade", "normal") not in GRADES:
        raise RulesError(f"{source}: defaults: grade must be one of {GRADES}")
    return RoutingTable(
        rules=tuple(rules),
        calendar=cal,
        default_grade=str(d.get("grade", "normal")),
        default_dispatch_limit=_limit(d.get("dispatch_limit"), "defaults") or TimeLimit(1, "working_hours"),
        default_handle_limit=_limit(d.get("handle_limit"), "defaults") or TimeLimit(2, "working_days"),
    )


def _rule_lines(text: str) -> list[int]:
    """The 1-based line where each item of the top-level `rules` list starts."""
    root = yaml.compose(text)
    if not isinstance(root, yaml.MappingNode):
        return []
    for key, value in root.value:
        if isinstance(key, yaml.ScalarNode) and key.value == "rules" and isinstance(value, yaml.SequenceNode):
            return [item.start_mark.line + 1 for item in value.value]
    return []


def load_rules(path: Path, tz: str, reference: ReferenceCodes | None = None) -> RoutingTable:
    """Load a rules file. With `reference` (the codes in the database), a rule naming an unknown
    department, category or prefix refuses the whole file, the message naming the value, line and rule."""
    text = path.read_text(encoding="utf-8")
    try:
        doc = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise RulesError(f"{path}: not valid YAML: {exc}".replace("\n", " ")) from exc
    if not isinstance(doc, dict):
        raise RulesError(f"{path}: expected a mapping at the top level")
    return parse_rules(doc, tz, reference, _rule_lines(text), source=str(path))


def route(table: RoutingTable, category_code: str | None, now: datetime, grade: str | None = None) -> RoutingDecision:
    """First matching rule wins. No match (or no category) → no department: an agent decides."""
    rule = next((r for r in table.rules if r.matches(category_code)), None)
    g = grade or (rule.grade if rule and rule.grade else table.default_grade)
    dispatch_limit = (rule.dispatch_limit if rule else None) or table.default_dispatch_limit
    handle_limit = (rule.handle_limit if rule else None) or table.default_handle_limit
    if g in ("urgent", "critical"):
        # 紧急/特急 halve (quarter) the time the rule allows.
        factor = 0.5 if g == "urgent" else 0.25
        if rule is None or rule.grade != g:
            handle_limit = TimeLimit(handle_limit.amount * factor, handle_limit.unit)
    reasons = [f"rule {rule.id}" if rule else "no rule matches the category"]
    return RoutingDecision(
        department_code=rule.department if rule else None,
        grade=g,
        rule_id=rule.id if rule else None,
        auto_dispatch=bool(rule and rule.auto_dispatch),
        dispatch_deadline=deadline(now, dispatch_limit, table.calendar),
        handle_deadline=deadline(now, handle_limit, table.calendar),
        reasons=reasons,
        require_check=bool(rule and rule.require_check),
    )
