"""The shared rule draft on PostgreSQL: two supervisors opening it at once get one draft, and two adding a
rule at once both find their rule in it (each edit is applied to what the other left), never a 500."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlmodel import select

from cases.db import session_scope
from routing import rule_drafts
from routing.models import RuleSet, RuleSetState
from routing.rule_sets import draft

pytestmark = [pytest.mark.integration]


def _rule(key: str) -> dict[str, Any]:
    return {"key": key, "name": key, "when": {"field": "category", "op": "in", "value": ["01001"]},
            "then": {"department": "municipal"}, "state": "disabled"}  # fmt: skip


def _no_draft() -> None:
    with session_scope() as s:
        found = draft(s)
        if found is not None:
            rule_drafts.discard(s, found)


def _at_once(*work: Any) -> list[BaseException]:
    """Run each in its own thread and transaction, the first holding its transaction open a moment."""
    errors: list[BaseException] = []
    started = threading.Barrier(len(work))

    def run(fn: Any) -> None:
        try:
            started.wait(10)
            with session_scope() as s:
                fn(s)
        except BaseException as exc:  # every failure is the test's to report
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(fn,)) for fn in work]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return errors


def test_two_open_the_draft_at_once(prod_env: dict[str, str]) -> None:
    _no_draft()
    assert _at_once(lambda s: rule_drafts.open_draft(s, "supervisor:wang"),
                    lambda s: rule_drafts.open_draft(s, "supervisor:li")) == []  # fmt: skip
    with session_scope() as s:
        drafts = s.exec(select(RuleSet).where(RuleSet.state == RuleSetState.DRAFT.value)).all()
        assert len(drafts) == 1


def test_two_add_a_rule_at_once(prod_env: dict[str, str]) -> None:
    _no_draft()
    with session_scope() as s:
        rule_drafts.open_draft(s, "supervisor:wang")

    def add(key: str) -> Any:
        return lambda s: rule_drafts.save_rule(s, rule_drafts.require_draft(s), None, _rule(key))

    assert _at_once(add("wang-rule"), add("li-rule")) == []
    with session_scope() as s:
        keys = [r.key for r in rule_drafts.draft_rules(s, rule_drafts.require_draft(s))]
    assert {"wang-rule", "li-rule"} <= set(keys) and len(keys) == len(set(keys))
    _no_draft()
