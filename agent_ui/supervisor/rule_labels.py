"""Names and choices the rule pages show: a code's name (category, department, grid), and the options of
the rule form's selects (fields with their operators, grades, states)."""

from __future__ import annotations

from cases.reference import reference_names
from routing.conditions import FIELDS, OPS_ZH
from routing.rules import GRADE_ZH, GRADES, RULE_STATE_ZH, RuleState


def code_label(field: str, code: str) -> str | None:
    names = reference_names()
    if field == "category":
        return names.category(code)
    if field in ("department", "notify"):
        return names.department(code)
    if field == "grid":
        return names.grid(code)
    return None


def grade_choices() -> list[tuple[str, str]]:
    return [(g, GRADE_ZH[g]) for g in GRADES]


def state_choices() -> list[tuple[str, str]]:
    return [(s.value, RULE_STATE_ZH[s]) for s in RuleState]


def field_choices() -> list[tuple[str, str, tuple[str, ...]]]:
    """(field, its Chinese name, its operators) for the condition rows."""
    return [(name, spec.name_zh, spec.ops) for name, spec in FIELDS.items()]


def op_choices() -> list[tuple[str, str]]:
    return list(OPS_ZH.items())
