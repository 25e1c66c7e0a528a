"""The department's use cases: who may act, 退单 within its window and 审定 after two, 延期 limits, 反馈 with
the photo a policy asks for, notes and 补充材料; and 重开 back to the same department one grade up.

On a controlled clock and the default calendar, in the last week of November 2026 (see test_clocks.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, select

from cases import providers
from cases.db import session_scope
from cases.lifecycle import Action
from cases.models import Case, CaseEvent, Department, Report
from cases.service import apply_action, open_case, timeline
from routing import department as dept
from routing.calendar import WORKING_CALENDAR
from routing.clocks import clocks_of, running_clock
from routing.review import ReviewError, dispatch_case
from routing.settings import SETTINGS
from routing.sla import WorkingCalendar

SH = ZoneInfo("Asia/Shanghai")
GRID = "421102001001001"
SAN = "sanitation"


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=SH)


@pytest.fixture(autouse=True)
def calendar(env: Path) -> Iterator[None]:
    cal = WorkingCalendar(tz=SH)
    providers.install(WORKING_CALENDAR, providers.Refreshing("test calendar", lambda: cal, lambda: "x", lambda: 0))
    yield


def dispatched(s: Session, when: datetime = at(23, 9), category: str = "06010") -> Case:
    case = open_case(s, actor="system:pipeline", title="东门菜市场暴露垃圾", category_code=category, grid_code=GRID)
    apply_action(s, case, Action.REGISTER, "system:pipeline", at=when)
    apply_action(s, case, Action.DISPATCH, "system:pipeline", at=when, department_code=SAN)
    return case


def last_event(s: Session, case: Case) -> CaseEvent:
    """The newest event by id (open_case stamps its event with the real time, later than these tests' week)."""
    return max(timeline(s, case), key=lambda e: e.id or 0)


def snapshot(s: Session, case: Case) -> tuple[object, ...]:
    s.flush()
    clocks = [(c.kind, c.due_at, c.paused_at, c.stopped_at, c.outcome) for c in clocks_of(s, case.id)]
    return (case.status, case.return_count, case.extension_count, len(timeline(s, case)), clocks)


# --- who acts ----------------------------------------------------------------------------------------


def test_a_department_acts_only_on_its_own_cases(env: Path) -> None:
    with session_scope() as s:
        case = dispatched(s)
        before = snapshot(s, case)
        with pytest.raises(dept.NotYourCase, match="不是本单位"):
            dept.sign_for(s, case, "dept:zhao", department_code="municipal", now=at(23, 9, 10))
        with pytest.raises(dept.NotYourCase, match="不是本单位"):
            dept.sign_for(s, case, "dept:municipal", now=at(23, 9, 10))  # the CLI's dept:<code>
        with pytest.raises(dept.NotYourCase, match="须指明所属承办单位"):
            dept.sign_for(s, case, "dept:zhao", now=at(23, 9, 10))
        with pytest.raises(dept.DepartmentRefusal, match="不能办理"):
            dept.sign_for(s, case, "grid:wang", now=at(23, 9, 10))
        assert snapshot(s, case) == before
        dept.sign_for(s, case, "dept:zhao", department_code=SAN, now=at(23, 9, 10))
        assert case.status == "in_progress"
        ev = last_event(s, case)
        assert (ev.action, ev.actor, ev.data["department_code"]) == ("accept", "dept:zhao", SAN)


def test_a_move_the_status_does_not_allow_is_refused_in_words(env: Path) -> None:
    with session_scope() as s:
        case = dispatched(s)
        dept.sign_for(s, case, "dept:sanitation", now=at(23, 9, 10))
        with pytest.raises(dept.NotNow, match="当前状态为“处置中”，不能签收"):
            dept.sign_for(s, case, "dept:sanitation", now=at(23, 9, 20))


# --- 退单 and 审定 -------------------------------------------------------------------------------------


def test_return_only_within_one_working_day_of_the_dispatch(env: Path) -> None:
    with session_scope() as s:
        case = dispatched(s, at(23, 9))
        assert dept.return_until(s, case) == at(24, 9)  # 7 working hours: Monday 09:00 → Tuesday 09:00
        dept.sign_for(s, case, "dept:sanitation", now=at(23, 9, 30))  # signing does not close the window
        before = snapshot(s, case)
        with pytest.raises(dept.ReturnWindowClosed, match="首办负责制"):
            dept.return_case(
                s, case, "dept:sanitation", reason_code="not_ours", reason_text="不是我们的", now=at(24, 9, 1)
            )
        assert snapshot(s, case) == before
        with pytest.raises(dept.DepartmentRefusal, match="请选择退单原因"):
            dept.return_case(s, case, "dept:sanitation", reason_code="bored", reason_text="x", now=at(23, 17))
        with pytest.raises(dept.DepartmentRefusal, match="请填写退单说明"):
            dept.return_case(s, case, "dept:sanitation", reason_code="other", reason_text="  ", now=at(23, 17))
        dept.return_case(s, case, "dept:sanitation", reason_code="not_ours", reason_text="属于市政", now=at(23, 17))
        assert (case.status, case.return_count) == ("returned", 1)
        ev = last_event(s, case)
        assert (ev.reason, ev.data["reason_code"], ev.data["reason_label"]) == (
            "非本单位职责：属于市政",
            "not_ours",
            "非本单位职责",
        )


def test_the_window_is_a_setting(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOTLINE_RETURN_WINDOW_WORKING_HOURS", "2")
    providers.reset(SETTINGS)
    with session_scope() as s:
        case = dispatched(s, at(23, 9))
        assert dept.return_until(s, case) == at(23, 11)
        with pytest.raises(dept.ReturnWindowClosed, match="派遣后2个工作小时内"):
            dept.return_case(s, case, "dept:sanitation", reason_code="other", reason_text="x", now=at(23, 11, 1))


def test_returned_twice_only_a_supervisors_binding_ruling_dispatches_it(env: Path) -> None:
    with session_scope() as s:
        case = dispatched(s, at(23, 9))
        dept.return_case(s, case, "dept:sanitation", reason_code="not_ours", reason_text="属于市政", now=at(23, 10))
        assert not dept.needs_ruling(case)
        apply_action(s, case, Action.DISPATCH, "agent:li", at=at(23, 11), department_code="municipal")
        dept.return_case(s, case, "dept:municipal", reason_code="not_ours", reason_text="属于环卫", now=at(23, 14))
        assert dept.needs_ruling(case) and case.return_count == 2
        with pytest.raises(ReviewError, match="须由班长审定"):
            dispatch_case(s, case, "agent:li", department_code=SAN)
        with pytest.raises(dept.DepartmentRefusal, match="只有班长"):
            dept.rule_on_return(s, case, "agent:li", department_code=SAN, reason="环卫负责")
        with pytest.raises(dept.DepartmentRefusal, match="请填写审定意见"):
            dept.rule_on_return(s, case, "supervisor:zhang", department_code=SAN, reason=" ")
        dept.rule_on_return(s, case, "supervisor:zhang", department_code=SAN, reason="路面垃圾归环卫")
        assert (case.status, case.department_code) == ("dispatched", SAN)
        assert running_clock(s, case.id).kind == "sign"  # type: ignore[union-attr]
        ruled_at = running_clock(s, case.id).started_at  # type: ignore[union-attr]
        # binding: within the window and all, the department named cannot return it again
        with pytest.raises(dept.NotNow, match="已经班长审定"):
            dept.return_case(
                s, case, "dept:sanitation", reason_code="not_ours", reason_text="还是不归我们", now=ruled_at
            )
        assert dept.ruled_departments(s, case) == {SAN}


def test_a_ruling_is_only_for_a_case_returned_twice(env: Path) -> None:
    with session_scope() as s:
        case = dispatched(s, at(23, 9))
        dept.return_case(s, case, "dept:sanitation", reason_code="duplicate", reason_text="重复", now=at(23, 10))
        with pytest.raises(dept.NotNow, match="请直接派遣"):
            dept.rule_on_return(s, case, "supervisor:zhang", department_code=SAN, reason="x")


# --- 延期 ------------------------------------------------------------------------------------------


def test_extension_requests_within_the_limits(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOTLINE_EXTENSION_MAX_COUNT", "2")
    providers.reset(SETTINGS)
    with session_scope() as s:
        case = dispatched(s, at(23, 9))
        with pytest.raises(dept.NotNow, match="请先签收"):
            dept.request_extension(s, case, "dept:sanitation", working_days=1, reason="材料", now=at(23, 9, 5))
        dept.sign_for(s, case, "dept:sanitation", now=at(23, 9, 10))
        for days in (0, 4, True):
            with pytest.raises(dept.ExtensionRefused, match="1至3个工作日"):
                dept.request_extension(s, case, "dept:sanitation", working_days=days, reason="材料", now=at(23, 10))  # type: ignore[arg-type]
        with pytest.raises(dept.DepartmentRefusal, match="请填写延期原因"):
            dept.request_extension(s, case, "dept:sanitation", working_days=1, reason="", now=at(23, 10))
        with pytest.raises(dept.ExtensionRefused, match="须晚于现在"):
            dept.request_extension(
                s, case, "dept:sanitation", working_days=1, reason="x", until=at(23, 9), now=at(23, 10)
            )
        first = dept.request_extension(
            s, case, "dept:sanitation", working_days=3, reason="等配件", until=at(27, 17), now=at(23, 10)
        )
        assert (first.state, first.working_days, first.requested_until, first.department_code) == (
            "pending",
            3,
            at(27, 17),
            SAN,
        )
        with pytest.raises(dept.ExtensionRefused, match="等待审批"):
            dept.request_extension(s, case, "dept:sanitation", working_days=1, reason="再要", now=at(23, 11))
        from routing.review import extend_case

        with pytest.raises(ReviewError, match="待审批的延期申请"):  # not around the supervisor's decision
            extend_case(s, case, "agent:li", working_days=1, reason="坐席直接延期")
        assert dept.pending_extensions(s) == [first]
        with pytest.raises(dept.DepartmentRefusal, match="只有班长"):
            dept.decide_extension(s, first, "agent:li", approve=True, note="同意")
        dept.decide_extension(s, first, "supervisor:zhang", approve=True, note="同意", now=at(23, 14))
        with pytest.raises(dept.ExtensionRefused, match="已处理"):
            dept.decide_extension(s, first, "supervisor:zhang", approve=False, note="反悔")
        second = dept.request_extension(s, case, "dept:sanitation", working_days=1, reason="天气", now=at(23, 15))
        dept.decide_extension(s, second, "supervisor:zhang", approve=True, note="同意", now=at(23, 16))
        assert case.extension_count == 2
        with pytest.raises(dept.ExtensionRefused, match="最多可延期2次"):
            dept.request_extension(s, case, "dept:sanitation", working_days=1, reason="还要", now=at(23, 17))
        assert [r.state for r in dept.extension_history(s, case.id)] == ["approved", "approved"]
        assert dept.pending_extensions(s) == []


def test_a_pending_request_ends_with_its_clock(env: Path) -> None:
    with session_scope() as s:
        case = dispatched(s, at(23, 9))
        dept.sign_for(s, case, "dept:sanitation", now=at(23, 9, 10))
        request = dept.request_extension(s, case, "dept:sanitation", working_days=1, reason="等配件", now=at(23, 10))
        dept.mark_handled(s, case, "dept:sanitation", note="已处理", photos=["p/1.jpg"], now=at(23, 11))
        assert (request.state, request.decided_by) == ("refused", "system:clocks")
        assert "自动失效" in (request.decision_note or "")
        assert dept.pending_extensions(s) == []


# --- 反馈, notes, 补充材料 -------------------------------------------------------------------------------


def test_handled_needs_a_photo_where_the_policy_says_so(env: Path) -> None:
    with session_scope() as s:
        garbage = dispatched(s, at(23, 9), category="06010")  # garbage-exposed: photo required
        assert dept.photo_required(s, garbage)
        before = snapshot(s, garbage)
        with pytest.raises(dept.PhotoRequired, match="须上传处置后的照片"):
            dept.mark_handled(s, garbage, "dept:sanitation", note="已清运", photos=[], now=at(23, 10))
        with pytest.raises(dept.DepartmentRefusal, match="照片有误"):
            dept.mark_handled(s, garbage, "dept:sanitation", note="已清运", photos=[" "], now=at(23, 10))
        with pytest.raises(dept.DepartmentRefusal, match="请填写处置情况"):
            dept.mark_handled(s, garbage, "dept:sanitation", note="", photos=["p/1.jpg"], now=at(23, 10))
        assert snapshot(s, garbage) == before
        dept.mark_handled(s, garbage, "dept:sanitation", note="已清运", photos=["p/1.jpg"], now=at(23, 10))
        ev = last_event(s, garbage)
        assert (garbage.status, ev.data["photos"], ev.reason) == ("handled", ["p/1.jpg"], "已清运")

        other = dispatched(s, at(23, 9), category="06020")  # the default policy: no photo needed
        assert not dept.photo_required(s, other)
        dept.mark_handled(s, other, "dept:sanitation", note="已劝离", photos=[], now=at(23, 10))
        assert other.status == "handled"


def test_progress_notes_and_waiting_on_the_resident(env: Path) -> None:
    with session_scope() as s:
        case = dispatched(s, at(23, 9))
        note = dept.add_progress_note(s, case, "dept:sanitation", "已联系清运车")
        assert (note.action, note.reason, note.data["progress"]) == ("note", "已联系清运车", True)
        with pytest.raises(dept.DepartmentRefusal, match="请填写进展情况"):
            dept.add_progress_note(s, case, "dept:sanitation", " ")
        with pytest.raises(dept.NotNow, match="没有在等待补充材料"):
            dept.resume_work(s, case, "dept:sanitation", "已补充", now=at(23, 9, 20))
        dept.request_info(s, case, "dept:sanitation", "请补充具体门牌", now=at(23, 9, 30))
        with pytest.raises(dept.NotNow, match="已在等待补充材料"):
            dept.request_info(s, case, "dept:sanitation", "再补充", now=at(23, 9, 40))
        dept.resume_work(s, case, "dept:sanitation", "市民已回复", now=at(23, 14))
        # 签收 paused at 09:30 with 30 min left: due 14:30 (and the 办结 projection moved with it)
        assert running_clock(s, case.id).due_at == at(23, 14, 30)  # type: ignore[union-attr]
        assert (case.dispatch_deadline, case.handle_deadline) == (at(23, 14, 30), at(24, 9, 30))


# --- 重开 ------------------------------------------------------------------------------------------


def _verified(s: Session) -> Case:
    case = dispatched(s, at(23, 9))
    s.add(Report(channel="sms", external_id=f"r{case.id}", text="x", phone="+8613800138000", case_id=case.id))
    dept.sign_for(s, case, "dept:sanitation", now=at(23, 9, 10))
    dept.mark_handled(s, case, "dept:sanitation", note="已清运", photos=["p/1.jpg"], now=at(23, 10))
    apply_action(s, case, Action.VERIFY, "grid:wang", at=at(23, 11))
    return case


def test_unsatisfied_sends_the_case_back_to_its_department_one_grade_up(sync_queue: object) -> None:
    from cases.rating import record_rating
    from hotline.wiring import wire_case_hooks
    from routing.reopen import redispatch_reopened

    wire_case_hooks()
    with session_scope() as s:
        case_id = _verified(s).id
    with session_scope() as s:
        case = s.get(Case, case_id)
        assert case is not None
        assert (
            record_rating(s, case, "unsatisfied", actor="resident:sms", channel="sms", comment="没清干净") == "reopened"
        )
    with session_scope() as s:
        case = s.get(Case, case_id)
        assert case is not None
        assert (case.status, case.department_code, case.grade, case.reopen_count) == ("dispatched", SAN, "urgent", 1)
        sign = running_clock(s, case_id)
        assert sign is not None and (sign.kind, sign.department_code, sign.grade) == ("sign", SAN, "urgent")
        assert sign.limit_amount == 0.5  # 紧急: half the 1 working hour
        reopen = s.exec(select(CaseEvent).where(CaseEvent.case_id == case_id, CaseEvent.action == "reopen")).one()
        assert (reopen.data["department_code"], reopen.data["reopen_count"]) == (SAN, 1)
        events = len(timeline(s, case))
    assert redispatch_reopened(case_id) is False  # not reopened any more: nothing happens
    with session_scope() as s:
        assert len(timeline(s, s.get(Case, case_id))) == events  # type: ignore[arg-type]


def test_a_reopened_case_whose_department_is_gone_waits_for_an_agent_and_says_why_once(env: Path) -> None:
    from routing.reopen import redispatch_reopened

    with session_scope() as s:
        case = _verified(s)
        apply_action(s, case, Action.REOPEN, "agent:li", reason="市民说没清干净", at=at(23, 15))
        s.get(Department, SAN).active = False  # type: ignore[union-attr]
        case_id = case.id
    assert case_id is not None
    assert redispatch_reopened(case_id) is False
    assert redispatch_reopened(case_id) is False
    with session_scope() as s:
        case = s.get(Case, case_id)
        assert case is not None and case.status == "reopened"
        held = [e for e in timeline(s, case) if e.action == "hold_for_agent"]
        assert len(held) == 1 and "重开后未能自动派遣" in (held[0].reason or "")
