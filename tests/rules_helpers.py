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


def route_report(external_id: str, text: str = "东门菜市场门口垃圾堆了两天", category: str = "06010") -> str:
    """A web report in 东门社区 whose resident chose the category, through the pipeline; its case number."""
    from cases.models import Report
    from routing.pipeline import process_report

    with session_scope() as s:
        report = Report(channel="web", external_id=external_id, text=text, lat=30.403, lon=114.843,
                        hints={"category_code": category})  # fmt: skip
        s.add(report)
        s.commit()
        rid = report.id
    assert rid is not None
    number = process_report(rid)
    assert number is not None
    return number


def sure(category: str | None, **kw: Any) -> RoutingInputs:
    """Inputs for a category a person chose (certain: no candidates)."""
    return RoutingInputs(category_code=category, category_confidence=1.0, **kw)


__all__ = ["RuleActions", "checking", "publish", "route_report", "save_draft", "shipped", "sure", "with_actions"]


def save_draft(spec: RuleSetSpec, editor: str = "supervisor:test") -> int:
    """`spec` as the shared draft of the next version: the editor's draft, its rules replaced whole."""
    from sqlalchemy import delete
    from sqlmodel import col

    from routing import rule_drafts
    from routing.models import RuleRow
    from routing.rule_sets import write_rules

    with session_scope() as s:
        draft = rule_drafts.open_draft(s, editor)
        s.execute(delete(RuleRow).where(col(RuleRow.rule_set_id) == draft.id))
        write_rules(s, draft, spec.rules)
        rule_drafts.set_settings(s, draft, spec.default_grade, spec.min_decision_confidence)
        assert draft.id is not None
        return draft.id
