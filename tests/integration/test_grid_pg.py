"""核实 and 核查 on PostgreSQL: two people answering the same task at once move the case once (the second
waits on the row lock, then finds it moved and is refused), and a case found on site goes on through the
pipeline's route-and-dispatch step."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from cases.db import session_scope
from cases.lifecycle import CaseStatus
from cases.models import Report
from cases.service import get_case_by_number
from routing.pipeline import process_report
from routing.verification import VerificationRefused, check_case, verify_case
from tests.console_helpers import GRID
from tests.grid_helpers import handled_case
from tests.rules_helpers import checking, publish

pytestmark = pytest.mark.integration

ATT = "att_" + "c" * 32


def test_two_answers_to_one_verification_at_once_move_the_case_once(prod_env: dict[str, str]) -> None:
    number = handled_case()
    first_holds_lock, let_first_commit = threading.Event(), threading.Event()
    outcome: dict[str, object] = {}

    def first() -> None:
        with session_scope() as s:
            case = get_case_by_number(s, number)
            assert case is not None
            verify_case(s, case, "grid:zhou", passed=True, note="", photos=[ATT], grids=(GRID,))
            first_holds_lock.set()
            let_first_commit.wait(10)

    def second() -> None:
        try:
            with session_scope() as s:
                case = get_case_by_number(s, number)
                assert case is not None and case.status == CaseStatus.HANDLED  # read before the first commits
                verify_case(s, case, "grid:wu", passed=False, note="还有垃圾", photos=[], grids=(GRID,))
            outcome["second"] = "moved"
        except VerificationRefused as exc:
            outcome["second"] = str(exc)

    a = threading.Thread(target=first)
    a.start()
    assert first_holds_lock.wait(10)
    b = threading.Thread(target=second)
    b.start()
    b.join(0.5)
    assert b.is_alive(), "the second answer did not wait for the first one's lock"
    let_first_commit.set()
    a.join(10)
    b.join(10)
    assert "已不在待核实状态" in str(outcome["second"])
    with session_scope() as s:
        case = get_case_by_number(s, number)
        assert case is not None and case.status == CaseStatus.VERIFIED


def test_a_case_found_on_site_is_dispatched(
    prod_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    publish(checking(), note="暴露垃圾先核查")
    with session_scope() as s:
        report = Report(
            channel="web",
            external_id="pg-check",
            text="东门菜市场门口垃圾堆了两天没人清理",
            lat=30.403,
            lon=114.843,
            hints={"category_code": "06010"},
        )
        s.add(report)
        s.flush()
        rid = report.id
    assert rid is not None
    number = process_report(rid)
    assert number is not None
    with session_scope() as s:
        case = get_case_by_number(s, number)
        assert case is not None and (case.status, case.needs_check) == (CaseStatus.REPORTED, True)
        check_case(s, case, "grid:zhou", found=True, note="确有垃圾", photos=[], grids=(GRID,))
    with session_scope() as s:
        case = get_case_by_number(s, number)
        assert case is not None
        assert (case.status, case.department_code, case.needs_check) == (CaseStatus.DISPATCHED, "sanitation", False)
