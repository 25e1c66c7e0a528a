"""Rule sets for tests: the shipped one, a changed copy, and publishing one into the test database as the
newest version (as a supervisor's 发布 does), so the next routing uses it."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from cases import providers
from cases.db import session_scope
from routing.conditions import RoutingInputs
from routing.rule_sets import publish_spec
from routing.rules import DEFAULT_RULES, RuleActions, RuleSetSpec, load_rule_file
from routing.ruleset import ROUTING_TABLE


def shipped() -> RuleSetSpec:
    return load_rule_file(DEFAULT_RULES)


def with_actions(spec: RuleSetSpec, key: str, **actions: Any) -> RuleSetSpec:
    """The set with one rule's actions changed (e.g. require_check=True, department="municipal")."""
    rules = tuple(replace(r, then=replace(r.then, **actions)) if r.key == key else r for r in spec.rules)
    assert rules != spec.rules, f"no rule {key}"
    return replace(spec, rules=rules)


def publish(spec: RuleSetSpec, note: str = "测试", editor: str = "supervisor:test") -> int:
    """Publish `spec` as the newest version; the process's routing table is rebuilt on next use."""
    with session_scope() as s:
        version = publish_spec(s, spec, editor=editor, note=note).version
    providers.reset(ROUTING_TABLE)
    assert version is not None
    return version


def checking(spec: RuleSetSpec | None = None) -> RuleSetSpec:
    """The shipped rules with 核查 on 暴露垃圾 (06010, 06042): those wait for a grid worker first."""
    return with_actions(spec or shipped(), "garbage-exposed", require_check=True)


def sure(category: str | None, **kw: Any) -> RoutingInputs:
    """Inputs for a category a person chose (certain: no candidates)."""
    return RoutingInputs(category_code=category, category_confidence=1.0, **kw)


__all__ = ["RuleActions", "checking", "publish", "save_draft", "shipped", "sure", "with_actions"]


def save_draft(spec: RuleSetSpec, editor: str = "supervisor:test") -> int:
    """`spec` as the shared draft of the next version (what the editor at /supervisor/rules keeps)."""
    from routing.models import RuleRow, RuleSet, RuleSetState
    from routing.rule_sets import newest_version

    with session_scope() as s:
        draft = RuleSet(state=RuleSetState.DRAFT.value, based_on=newest_version(s), settings=spec.settings_json(),
                        created_by=editor)  # fmt: skip
        s.add(draft)
        s.flush()
        for position, rule in enumerate(spec.rules, start=1):
            doc = rule.to_json()
            s.add(RuleRow(rule_set_id=draft.id or 0, position=position, key=rule.key, name=rule.name,
                          state=rule.state.value, expires_on=rule.expires_on, conditions=doc["when"],
                          actions=doc["then"]))  # fmt: skip
        assert draft.id is not None
        return draft.id
