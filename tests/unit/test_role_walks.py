"""Every role's actions in random order, at random moments, on three cases of one matter: the use cases the
pages call (the agent's dispatch, merge and console moves; the department's 签收, 退单, 延期, 反馈, 补充材料;
the supervisor's decisions, 审定 and recalculation; the grid worker's 核实; the resident's rating; the
escalation sweep) never leave a case in an impossible state, and an action a use case refuses changes
nothing at all. The clock is virtual (time-machine), so the SLA clocks, the return window and the ladder
see the moments the walk chose.

Impossible states checked after every step: more than one running clock, or a running clock that does
not match the status (签收 while dispatched, 办结 in progress, 核实 after 反馈, none otherwise); a paused
clock with a deadline or a running one without; a finished case (closed, rejected, merged) with a running
clock, an open extension request, or the overdue flag; a merged case that still holds reports or names no
open target; overdue without a running clock; held for review outside 已立案; counters that disagree with
the timeline; closed without a closing time; a pending extension without its paused clock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from sqlmodel import Session, col, select

from cases.db import session_scope
from cases.lifecycle import TERMINAL, Action, CaseStatus, IllegalTransition
from cases.merge import merge_case
from cases.models import Case, CaseEvent, Report
from cases.rating import RATINGS, record_rating
from cases.reference import InvalidInput
from cases.service import apply_action, open_case
from routing.clocks import clocks_of, pause_reasons, recalculate_deadlines
from routing.department import (
    RETURN_REASONS,
    add_progress_note,
    decide_extension,
    mark_handled,
    pending_extensions,
    request_extension,
    request_info,
    resume_work,
    return_case,
    rule_on_return,
    sign_for,
)
from routing.escalation_sweep import escalate
from routing.models import ClockKind, ExtensionRequest, ExtensionState, SlaClock
from routing.review import dispatch_case, extend_case
from routing.verification import verify_case

SH = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 9, 28, 9, 0, tzinfo=SH)  # a Monday before National Day and its make-up Saturday
_walks = [0]  # each walk starts a month after the one before: time only goes forward in the shared database
GRID = "421102001001001"
DEPARTMENTS = ("sanitation", "municipal")
HOLDS = {
    CaseStatus.DISPATCHED.value: ClockKind.SIGN.value,
    CaseStatus.IN_PROGRESS.value: ClockKind.HANDLE.value,
    CaseStatus.HANDLED.value: ClockKind.VERIFY.value,
}
PHOTO = "att_" + "0" * 32
N_CASES = 3
CONSOLE_MOVES = (Action.REGISTER, Action.CLOSE, Action.REOPEN, Action.REJECT, Action.ESCALATE, Action.VERIFY)

cases_ = st.integers(0, N_CASES - 1)
# Mostly short waits (a return window is a working day), sometimes a night or a long weekend.
minutes = st.sampled_from([0, 0, 5, 30, 60, 120, 240, 960, 4320])
dept_actor = st.sampled_from([f"dept:{d}" for d in DEPARTMENTS])


def _snapshot(s: Session, ids: list[int]) -> tuple[Any, ...]:
    """Everything an action could change, for all the walk's cases (a merge touches two)."""
    s.flush()
    rows = []
    for case in s.exec(select(Case).where(col(Case.id).in_(ids)).order_by(col(Case.id))):
        rows.append(
            (
                case.status,
                case.department_code,
                case.grade,
                case.needs_review,
                case.dispatch_deadline,
                case.handle_deadline,
                case.verify_deadline,
                case.return_count,
                case.reopen_count,
                case.extension_count,
                case.overdue,
                case.supervision,
                case.closed_at,
            )
        )
    clocks = [
        (c.id, c.kind, c.due_at, c.paused_at, c.remaining_seconds, c.stopped_at)
        for c in s.exec(select(SlaClock).where(col(SlaClock.case_id).in_(ids)).order_by(col(SlaClock.id)))
    ]
    requests = [(r.id, r.state) for r in s.exec(select(ExtensionRequest).where(col(ExtensionRequest.case_id).in_(ids)))]
    reports = sorted((r.id, r.case_id) for r in s.exec(select(Report).where(col(Report.case_id).in_(ids))))
    events = len(list(s.exec(select(CaseEvent.id).where(col(CaseEvent.case_id).in_(ids)))))
    return (rows, clocks, requests, reports, events)


class RoleWalk(RuleBasedStateMachine):
    ids: list[int]
    now: datetime

    @initialize()
    def three_dispatched_cases(self) -> None:
        self.now = START + timedelta(days=30 * _walks[0])
        _walks[0] += 1
        self.ids = []
        self.refused = 0
        with time_machine.travel(self.now, tick=False), session_scope() as s:
            for i in range(N_CASES):
                case = open_case(s, actor="system:pipeline", title="东门菜市场门口垃圾", category_code="06010")
                case.grid_code = GRID
                s.add(Report(channel="web", external_id=f"walk-{_walks[0]}-{i}", text="东门菜市场门口垃圾堆了两天",
                             phone=f"+86138000000{i:02d}", case_id=case.id, processing_status="done"))  # fmt: skip
                apply_action(s, case, Action.REGISTER, "system:pipeline")
                if i < N_CASES - 1:  # the last one waits registered: something to merge, or dispatch later
                    dispatch_case(s, case, "system:pipeline", department_code="sanitation")
                assert case.id is not None
                self.ids.append(case.id)

    # --- one step: act at the walk's moment; a refusal must leave everything as it was -------------------

    def _act(self, i: int, wait: int, act: Callable[[Session, Case], object]) -> None:
        self.now += timedelta(minutes=wait)
        with time_machine.travel(self.now, tick=False), session_scope() as s:
            case = s.get(Case, self.ids[i])
            assert case is not None
            before = _snapshot(s, self.ids)
            try:
                act(s, case)
            except (IllegalTransition, InvalidInput):  # the lifecycle's and the use cases' refusals
                assert _snapshot(s, self.ids) == before, "a refused action changed something"
                self.refused += 1
                s.rollback()

    # --- the hotline agent ---------------------------------------------------------------------------------

    @rule(i=cases_, wait=minutes, department=st.sampled_from([None, *DEPARTMENTS]))
    def agent_dispatches(self, i: int, wait: int, department: str | None) -> None:
        self._act(i, wait, lambda s, c: dispatch_case(s, c, "agent:li", department_code=department))

    @rule(i=cases_, wait=minutes, move=st.sampled_from(CONSOLE_MOVES))
    def agent_moves(self, i: int, wait: int, move: Action) -> None:
        self._act(i, wait, lambda s, c: apply_action(s, c, move, "agent:li", reason="坐席操作"))

    @rule(i=cases_, j=cases_, wait=minutes)
    def agent_merges(self, i: int, j: int, wait: int) -> None:
        def act(s: Session, c: Case) -> None:
            into = s.get(Case, self.ids[j])
            assert into is not None
            merge_case(s, c, into, "agent:li", "同一事项")

        self._act(i, wait, act)

    @rule(i=cases_, wait=minutes, days=st.sampled_from([1, 2, 4]))
    def agent_extends(self, i: int, wait: int, days: int) -> None:
        self._act(i, wait, lambda s, c: extend_case(s, c, "agent:li", working_days=days, reason="市民同意延后"))

    # --- the department ------------------------------------------------------------------------------------

    @rule(i=cases_, wait=minutes, actor=dept_actor)
    def department_signs(self, i: int, wait: int, actor: str) -> None:
        self._act(i, wait, lambda s, c: sign_for(s, c, actor))

    @rule(i=cases_, wait=minutes, actor=dept_actor, code=st.sampled_from([*RETURN_REASONS, "bogus"]))
    def department_returns(self, i: int, wait: int, actor: str, code: str) -> None:
        self._act(i, wait, lambda s, c: return_case(s, c, actor, reason_code=code, reason_text="不属于本单位"))

    @rule(i=cases_, wait=minutes, actor=dept_actor, days=st.integers(0, 5))
    def department_asks_for_time(self, i: int, wait: int, actor: str, days: int) -> None:
        self._act(i, wait, lambda s, c: request_extension(s, c, actor, working_days=days, reason="需协调施工单位"))

    @rule(i=cases_, wait=minutes, actor=dept_actor, photos=st.sampled_from([[], [PHOTO]]))
    def department_reports_done(self, i: int, wait: int, actor: str, photos: list[str]) -> None:
        self._act(i, wait, lambda s, c: mark_handled(s, c, actor, note="已清运", photos=photos))

    @rule(i=cases_, wait=minutes, actor=dept_actor, ask=st.booleans())
    def department_waits_on_resident(self, i: int, wait: int, actor: str, ask: bool) -> None:
        move = request_info if ask else resume_work
        self._act(i, wait, lambda s, c: move(s, c, actor, "请市民补充具体位置" if ask else "市民已补充"))

    @rule(i=cases_, wait=minutes, actor=dept_actor)
    def department_notes(self, i: int, wait: int, actor: str) -> None:
        self._act(i, wait, lambda s, c: add_progress_note(s, c, actor, "已联系清运车辆"))

    # --- the supervisor ------------------------------------------------------------------------------------

    @rule(i=cases_, wait=minutes, approve=st.booleans())
    def supervisor_decides(self, i: int, wait: int, approve: bool) -> None:
        def act(s: Session, c: Case) -> None:
            mine = [r for r in pending_extensions(s) if r.case_id == c.id]
            if mine:
                decide_extension(s, mine[0], "supervisor:wang", approve=approve, note="同意" if approve else "不同意")

        self._act(i, wait, act)

    @rule(i=cases_, wait=minutes, department=st.sampled_from(DEPARTMENTS))
    def supervisor_rules(self, i: int, wait: int, department: str) -> None:
        self._act(
            i, wait, lambda s, c: rule_on_return(s, c, "supervisor:wang", department_code=department, reason="审定")
        )

    @rule(i=cases_, wait=minutes)
    def supervisor_recalculates(self, i: int, wait: int) -> None:
        self._act(i, wait, lambda s, c: recalculate_deadlines(s, c, "supervisor:wang", "时限标准已调整"))

    # --- the grid worker and the resident ----------------------------------------------------------------

    @rule(i=cases_, wait=minutes, passed=st.booleans(), photos=st.sampled_from([[], [PHOTO]]))
    def grid_worker_verifies(self, i: int, wait: int, passed: bool, photos: list[str]) -> None:
        note = "现场已清理" if passed else "仍有垃圾"
        self._act(
            i, wait, lambda s, c: verify_case(s, c, "grid:zhou", passed=passed, note=note, photos=photos, grids=[GRID])
        )

    @rule(i=cases_, wait=minutes, code=st.sampled_from(sorted(RATINGS)))
    def resident_rates(self, i: int, wait: int, code: str) -> None:
        self._act(i, wait, lambda s, c: record_rating(s, c, code, actor="resident:web", channel="web"))

    # --- the loop's usual next step, by whoever takes it (so walks get to 核实, 回访 and 结案 often) -------

    def _next_step(self, s: Session, c: Case) -> None:
        status = CaseStatus(c.status)
        if status in (CaseStatus.REGISTERED, CaseStatus.RETURNED, CaseStatus.REOPENED):
            dispatch_case(s, c, "agent:li")
        elif status == CaseStatus.DISPATCHED:
            sign_for(s, c, f"dept:{c.department_code}")
        elif status == CaseStatus.IN_PROGRESS:
            mark_handled(s, c, f"dept:{c.department_code}", note="已清运", photos=[PHOTO])
        elif status == CaseStatus.HANDLED:
            verify_case(s, c, "grid:zhou", passed=True, note="现场已清理", photos=[PHOTO], grids=[GRID])
        elif status == CaseStatus.VERIFIED:
            record_rating(s, c, "satisfied", actor="resident:web", channel="web")
        elif status == CaseStatus.SURVEYED:
            apply_action(s, c, Action.CLOSE, "agent:li")

    @rule(i=cases_, wait=minutes)
    def the_loop_goes_on(self, i: int, wait: int) -> None:
        self._act(i, wait, self._next_step)

    @rule(i=cases_, wait=minutes)
    def the_loop_goes_on_again(self, i: int, wait: int) -> None:
        self._act(i, wait, self._next_step)

    # --- the escalation sweep -------------------------------------------------------------------------------

    @rule(wait=minutes, times=st.integers(1, 2))
    def sweep(self, wait: int, times: int) -> None:
        self.now += timedelta(minutes=wait)
        with time_machine.travel(self.now, tick=False):
            for _ in range(times):
                escalate(now=self.now)

    # --- what must always hold ----------------------------------------------------------------------------

    @invariant()
    def no_case_is_in_an_impossible_state(self) -> None:
        if not getattr(self, "ids", None):
            return
        with session_scope() as s:
            for case in s.exec(select(Case).where(col(Case.id).in_(self.ids))):
                _check(s, case)


def _check(s: Session, case: Case) -> None:
    status = CaseStatus(case.status)
    clocks = clocks_of(s, case.id)
    running = [c for c in clocks if c.stopped_at is None]
    assert [c.kind for c in running] == ([HOLDS[case.status]] if case.status in HOLDS else []), (case.status, running)
    for clock in running:
        assert (clock.due_at is None) == bool(pause_reasons(clock)) == (clock.paused_at is not None), clock
    pending = list(
        s.exec(
            select(ExtensionRequest).where(
                ExtensionRequest.case_id == case.id, ExtensionRequest.state == ExtensionState.PENDING.value
            )
        )
    )
    assert len(pending) <= 1
    if pending:
        assert running and "request_extension" in pause_reasons(running[0]), (case.status, running)
    if status in TERMINAL:
        assert not running and not pending and not case.overdue, (case.status, running, pending)
    if status == CaseStatus.CLOSED:
        assert case.closed_at is not None
    if status == CaseStatus.MERGED:
        assert not list(s.exec(select(Report.id).where(Report.case_id == case.id))), "merged and still holding reports"
        merged = [e for e in _events(s, case) if e.action == Action.MERGE.value]
        target = s.exec(select(Case).where(Case.number == merged[-1].data["into"])).one()
        assert target.status != CaseStatus.MERGED.value or target.id != case.id
    if case.overdue:
        assert running, f"overdue without a running clock ({case.status})"
    if case.needs_review:
        assert status == CaseStatus.REGISTERED
    moves = [e.action for e in _events(s, case)]
    assert case.return_count == moves.count(Action.RETURN.value)
    assert case.reopen_count == moves.count(Action.REOPEN.value)
    assert case.extension_count == moves.count(Action.EXTEND.value)


def _events(s: Session, case: Case) -> list[CaseEvent]:
    return list(s.exec(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(col(CaseEvent.id))))


@pytest.fixture
def walk_env(sync_queue: object) -> Iterator[None]:
    from hotline.wiring import wire_case_hooks

    wire_case_hooks()  # the observers and the jobs that follow moves (the reopen's re-dispatch), as in every process
    yield


@pytest.mark.slow
def test_every_roles_actions_in_any_order(walk_env: None) -> None:
    RoleWalk.TestCase.settings = settings(
        max_examples=80,
        stateful_step_count=80,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    RoleWalk.TestCase().runTest()
