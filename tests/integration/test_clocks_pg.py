"""The clocks and the department's use cases on the real PostgreSQL: people acting at once on one case move it
one after the other (one 签收, one running clock), and the reopen job run by several workers at once sends the
case back exactly once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from sqlmodel import Session, col, select

from cases.db import session_scope
from cases.lifecycle import Action
from cases.models import Case, CaseEvent
from cases.service import apply_action, open_case

pytestmark = pytest.mark.integration

GRID = "421102001001001"


@pytest.fixture
def clocks(prod_env: dict[str, str]) -> None:
    from hotline.wiring import wire_observers

    wire_observers()


def _dispatched(s: Session) -> Case:
    case = open_case(s, actor="system:pipeline", title="东门菜市场暴露垃圾", category_code="06010", grid_code=GRID)
    apply_action(s, case, Action.REGISTER, "system:pipeline")
    apply_action(s, case, Action.DISPATCH, "system:pipeline", department_code="sanitation")
    return case


def _at_once(n: int, work: Callable[[], Any]) -> list[Any]:
    """`work` in n threads released together; what each returned or raised."""
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = work()
        except Exception as exc:  # the refusals are the point
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def test_two_people_signing_at_once_sign_once(clocks: None) -> None:
    from routing.clocks import clocks_of
    from routing.department import NotNow, sign_for

    with session_scope() as s:
        case_id = _dispatched(s).id

    def sign() -> str:
        with session_scope() as s:
            case = s.get(Case, case_id)
            assert case is not None
            sign_for(s, case, "dept:sanitation")
            return case.status

    results = _at_once(4, sign)
    assert results.count("in_progress") == 1, results
    assert all(isinstance(r, NotNow) for r in results if r != "in_progress"), results
    with session_scope() as s:
        kinds = [(c.kind, c.stopped_at is None) for c in clocks_of(s, case_id)]
        assert kinds == [("sign", False), ("handle", True)]
        accepts = s.exec(select(CaseEvent).where(CaseEvent.case_id == case_id, CaseEvent.action == "accept")).all()
        assert len(accepts) == 1


def test_two_supervisors_deciding_one_extension_decide_once(clocks: None) -> None:
    from routing.department import ExtensionRefused, decide_extension, request_extension, sign_for
    from routing.models import ExtensionRequest

    with session_scope() as s:
        case = _dispatched(s)
        sign_for(s, case, "dept:sanitation")
        request_id = request_extension(s, case, "dept:sanitation", working_days=2, reason="等配件").id
        case_id = case.id

    def decide(approve: bool) -> str:
        with session_scope() as s:
            request = s.get(ExtensionRequest, request_id)
            assert request is not None
            return decide_extension(s, request, "supervisor:zhang", approve=approve, note="决定").state

    flips = iter([True, False, True, False])
    lock = threading.Lock()

    def one() -> str:
        with lock:
            approve = next(flips)
        return decide(approve)

    results = _at_once(4, one)
    decided = [r for r in results if isinstance(r, str)]
    assert len(decided) == 1 and all(isinstance(r, ExtensionRefused) for r in results if not isinstance(r, str))
    with session_scope() as s:
        case = s.get(Case, case_id)
        assert case is not None
        moves = s.exec(
            select(CaseEvent).where(
                CaseEvent.case_id == case_id, col(CaseEvent.action).in_(["extend", "refuse_extension"])
            )
        ).all()
        assert len(moves) == 1
        assert case.extension_count == (1 if decided == ["approved"] else 0)


def test_the_reopen_job_run_by_several_workers_at_once_sends_the_case_back_once(clocks: None) -> None:
    from routing.clocks import running_clock
    from routing.reopen import redispatch_reopened

    with session_scope() as s:
        case = _dispatched(s)
        for action in (Action.ACCEPT, Action.HANDLE, Action.VERIFY):
            apply_action(s, case, action, "dept:sanitation")
        apply_action(s, case, Action.REOPEN, "agent:li", reason="市民不满意")
        case_id = case.id
    assert case_id is not None

    results = _at_once(4, lambda: redispatch_reopened(case_id))
    assert sorted(results) == [False, False, False, True], results
    with session_scope() as s:
        case = s.get(Case, case_id)
        assert case is not None and (case.status, case.grade, case.reopen_count) == ("dispatched", "urgent", 1)
        sends = s.exec(select(CaseEvent).where(CaseEvent.case_id == case_id, CaseEvent.actor == "system:reopen")).all()
        assert [e.action for e in sends] == ["dispatch"]
        clock = running_clock(s, case_id)
        assert clock is not None and (clock.kind, clock.grade) == ("sign", "urgent")
