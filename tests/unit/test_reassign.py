"""改派 (routing.reassign): a supervisor moves a case a department holds to another department with a
reason; the new department's 签收 clock starts, it is notified as for a 派遣, and the timeline names both
departments and the reason. Refused for the wrong person, the wrong status, the same department, no reason."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import col, select

from cases import jobs
from cases.db import session_scope
from cases.lifecycle import Action, CaseStatus, IllegalTransition, next_status
from cases.models import CaseEvent
from cases.service import get_case_by_number
from hotline.wiring import wire_case_hooks
from routing import department
from routing.department import DepartmentRefusal
from routing.models import ClockKind, ClockOutcome, DepartmentNotice, ExtensionRequest, SlaClock
from routing.reassign import reassign_case
from tests.dept_fixtures import dispatched_case, returned_case, signed_case
from tests.escalation_fixtures import RecordingQueue, add_contacts


@pytest.fixture
def queue(env: Path) -> Iterator[RecordingQueue]:
    q = RecordingQueue()
    jobs.set_queue(q)
    wire_case_hooks()
    yield q
    jobs.set_queue(None)


def test_the_lifecycle_table_has_reassign_only_while_a_department_holds_the_case() -> None:
    assert next_status(CaseStatus.DISPATCHED, Action.REASSIGN) == CaseStatus.DISPATCHED
    assert next_status(CaseStatus.IN_PROGRESS, Action.REASSIGN) == CaseStatus.DISPATCHED
    for status in set(CaseStatus) - {CaseStatus.DISPATCHED, CaseStatus.IN_PROGRESS}:
        with pytest.raises(IllegalTransition):
            next_status(status, Action.REASSIGN)


def _clocks(case_id: int) -> list[SlaClock]:
    with session_scope() as s:
        return list(s.exec(select(SlaClock).where(SlaClock.case_id == case_id).order_by(col(SlaClock.id))))


def test_a_signed_case_goes_to_the_new_department_with_a_fresh_sign_clock(queue: RecordingQueue) -> None:
    with session_scope() as s:
        add_contacts(s, department="municipal", webhook_url=None)
    number = signed_case()
    with session_scope() as s:
        case = get_case_by_number(s, number)
        assert case is not None and case.status == CaseStatus.IN_PROGRESS.value
        req = department.request_extension(
            s, case, "dept:wang", working_days=2, reason="等材料", department_code=case.department_code
        )
        request_id = req.id
        event = reassign_case(s, case, "municipal", "井盖周边属市政管养范围", "supervisor:zhang")
        case_id, event_id = case.id, event.id
        assert case_id is not None
    with session_scope() as s:
        case = get_case_by_number(s, number)
        assert case is not None
        assert (case.status, case.department_code) == (CaseStatus.DISPATCHED.value, "municipal")
        ev = s.get(CaseEvent, event_id)
        assert ev is not None and ev.action == Action.REASSIGN.value and ev.actor == "supervisor:zhang"
        assert ev.reason == "井盖周边属市政管养范围"
        assert ev.data["from_department"] == "sanitation" and ev.data["to_department"] == "municipal"
        assert case.dispatch_deadline is not None and case.handle_deadline is not None
        pending = s.get(ExtensionRequest, request_id)
        assert pending is not None and pending.state == "refused"  # the old department's request ends with its clock
    clocks = _clocks(case_id)
    old_handle, new_sign = clocks[-2], clocks[-1]
    assert (old_handle.kind, old_handle.outcome, old_handle.department_code) == (
        ClockKind.HANDLE.value,
        ClockOutcome.CANCELLED.value,
        "sanitation",
    )
    assert (new_sign.kind, new_sign.stopped_at, new_sign.department_code) == (ClockKind.SIGN.value, None, "municipal")
    with session_scope() as s:
        notices = list(s.exec(select(DepartmentNotice).where(DepartmentNotice.key.startswith(f"dispatch:{event_id}:"))))  # type: ignore[attr-defined]
        assert [n.department_code for n in notices] == ["municipal"]
        assert notices[0].payload["case_number"] == number and "请于" in notices[0].payload["text"]
    # The new department may sign for it, the old one no longer may.
    with session_scope() as s:
        case = get_case_by_number(s, number)
        assert case is not None
        with pytest.raises(DepartmentRefusal):
            department.sign_for(s, case, "dept:wang", department_code="sanitation")
        department.sign_for(s, case, "dept:qian", department_code="municipal")
        assert case.status == CaseStatus.IN_PROGRESS.value


def test_a_dispatched_case_not_yet_signed_for_is_reassigned_and_notified_again(queue: RecordingQueue) -> None:
    number = dispatched_case()
    with session_scope() as s:
        add_contacts(s, department="municipal", webhook_url=None)
        case = get_case_by_number(s, number)
        assert case is not None
        event = reassign_case(s, case, "municipal", "属市政", "zhang")
        assert event.from_status == event.to_status == CaseStatus.DISPATCHED.value
        n = s.exec(select(DepartmentNotice).where(DepartmentNotice.department_code == "municipal")).all()
        assert len(n) == 1


@pytest.mark.parametrize(
    ("actor", "code", "reason", "message"),
    [
        ("agent:li", "municipal", "理由", "只有班长"),
        ("dept:wang", "municipal", "理由", "只有班长"),
        ("supervisor:zhang", "sanitation", "理由", "另一个承办单位"),
        ("supervisor:zhang", "nowhere", "理由", "不存在"),
        ("supervisor:zhang", "", "理由", "请选择"),
        ("supervisor:zhang", "municipal", "  ", "原因"),
        ("supervisor:zhang", "municipal", "长" * 501, "过长"),
    ],
)
def test_refusals_change_nothing(queue: RecordingQueue, actor: str, code: str, reason: str, message: str) -> None:
    number = signed_case()
    with session_scope() as s:
        case = get_case_by_number(s, number)
        assert case is not None
        with pytest.raises(DepartmentRefusal, match=message):
            reassign_case(s, case, code, reason, actor)
    with session_scope() as s:
        case = get_case_by_number(s, number)
        assert case is not None and case.department_code == "sanitation" and case.status == "in_progress"


def test_a_returned_case_is_not_reassigned(queue: RecordingQueue) -> None:
    number = returned_case(1)
    with session_scope() as s:
        case = get_case_by_number(s, number)
        assert case is not None
        with pytest.raises(DepartmentRefusal, match="只有已派遣或处置中"):
            reassign_case(s, case, "municipal", "理由", "supervisor:zhang")
