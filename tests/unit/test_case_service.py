"""Kernel use cases against a real (SQLite) database: events in the same transaction, refusals change nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import select

from cases.db import session_scope
from cases.lifecycle import IllegalTransition
from cases.models import Case, CaseEvent
from cases.service import apply_action, next_case_number, open_case


def test_illegal_move_changes_nothing(env: Path) -> None:
    with session_scope() as s:
        case = open_case(s, actor="t", title="x")
        s.commit()
        before = len(s.exec(select(CaseEvent)).all())
        with pytest.raises(IllegalTransition):
            apply_action(s, case, "close", "t", department_code="sanitation")
        assert case.status == "reported" and case.department_code is None
        s.commit()
        assert len(s.exec(select(CaseEvent)).all()) == before


def test_legal_move_writes_event_and_rolls_back_with_it(env: Path) -> None:
    with session_scope() as s:
        case = open_case(s, actor="t")
        s.commit()
        apply_action(s, case, "register", "agent:1", reason="ok")
        s.rollback()
    with session_scope() as s:
        c = s.exec(select(Case)).one()
        assert c.status == "reported"
        assert [e.action for e in s.exec(select(CaseEvent))] == ["open"]


def test_case_numbers_count_per_day(env: Path) -> None:
    with session_scope() as s:
        a, b = next_case_number(s), next_case_number(s)
        s.commit()
    assert a[:-6] == b[:-6] and int(b[-6:]) == int(a[-6:]) + 1
