"""核实 and 核查 (routing.verification): who may, what each needs, where the case goes, and that a refused
attempt changes nothing. 核查 starts in the pipeline: a rule with `require_check` keeps a resident's case
in 上报 for a grid worker, and 核查属实 continues with the pipeline's own route-and-dispatch step."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from cases.db import session_scope
from cases.lifecycle import CaseStatus
from cases.models import Case, CaseEvent, Report
from cases.service import get_case_by_number
from cases.states import Channel, EventKind
from routing.pipeline import process_report
from routing.rules import RulesError, parse_rule_set, route
from routing.verification import VerificationRefused, check_case, verify_case
from tests.console_helpers import GRID
from tests.grid_helpers import FAR_GRID, handled_case
from tests.rules_helpers import checking as checking_rules
from tests.rules_helpers import publish, sure

ATT = "att_" + "b" * 32
MINE = (GRID,)


def _events(s: Session, case: Case) -> list[CaseEvent]:
    return list(s.exec(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(col(CaseEvent.id))).all())


def _snapshot(number: str) -> tuple[str, bool, int]:
    with session_scope() as s:
        case = get_case_by_number(s, number)
        assert case is not None
        return case.status, case.needs_check, len(_events(s, case))


def _refused(number: str, match: str, call: object) -> None:
    before = _snapshot(number)
    with session_scope() as s:
        case = get_case_by_number(s, number)
        with pytest.raises(VerificationRefused, match=match):
            call(s, case)  # type: ignore[operator]
        s.rollback()
    assert _snapshot(number) == before


# --- 核实 ------------------------------------------------------------------------------------------------


def test_a_pass_needs_a_photo_and_moves_the_case_to_verified(env: Path) -> None:
    number = handled_case()
    _refused(
        number,
        "至少一张现场照片",
        lambda s, c: verify_case(s, c, "grid:zhou", passed=True, note="", photos=[], grids=MINE),
    )
    with session_scope() as s:
        case = get_case_by_number(s, number)
        assert case is not None
        verify_case(s, case, "grid:zhou", passed=True, note=" 已清理干净 ", photos=[ATT, ATT], grids=MINE)
    with session_scope() as s:
        case = get_case_by_number(s, number)
        assert case is not None and case.status == CaseStatus.VERIFIED
        last = _events(s, case)[-1]
        assert (last.action, last.actor, last.reason) == ("verify", "grid:zhou", "已清理干净")
        assert last.data["photos"] == [ATT] and last.data["on_site"] is True


def test_a_fail_needs_the_reason_and_sends_the_case_back_to_the_department(env: Path) -> None:
    number = handled_case()
    _refused(
        number,
        "不通过的原因",
        lambda s, c: verify_case(s, c, "grid:zhou", passed=False, note=" ", photos=[], grids=MINE),
    )
    with session_scope() as s:
        case = get_case_by_number(s, number)
        assert case is not None
        verify_case(s, case, "grid:zhou", passed=False, note="地面仍有垃圾", photos=[], grids=MINE)
    with session_scope() as s:
        case = get_case_by_number(s, number)
        assert case is not None and case.status == CaseStatus.IN_PROGRESS
        last = _events(s, case)[-1]
        assert (last.action, last.reason, last.data["photos"]) == ("verify_fail", "地面仍有垃圾", [])


def test_only_a_grid_worker_of_the_cases_grid_or_the_hotline_may_verify(env: Path) -> None:
    number = handled_case()
    ok = dict(passed=True, note="", photos=[ATT])
    _refused(number, "不在您负责的网格", lambda s, c: verify_case(s, c, "grid:far", grids=(FAR_GRID,), **ok))
    _refused(number, "不在您负责的网格", lambda s, c: verify_case(s, c, "grid:nobody", **ok))  # no grids
    _refused(number, "网格员或热线坐席", lambda s, c: verify_case(s, c, "dept:wang", grids=MINE, **ok))
    _refused(number, "网格员或热线坐席", lambda s, c: verify_case(s, c, "system:test", grids=MINE, **ok))
    with session_scope() as s:
        case = get_case_by_number(s, number)
        assert case is not None
        verify_case(s, case, "agent:li", **ok)  # an agent verifies from the photos
        assert case.status == CaseStatus.VERIFIED and _events(s, case)[-1].data["on_site"] is False


def test_a_case_not_waiting_for_verification_is_refused(env: Path) -> None:
    number = handled_case()
    with session_scope() as s:
        case = get_case_by_number(s, number)
        assert case is not None
        verify_case(s, case, "grid:zhou", passed=True, note="", photos=[ATT], grids=MINE)
    # The second tap, or a colleague a minute later.
    again = dict(passed=False, note="还有垃圾", photos=[])
    _refused(number, "已不在待核实状态", lambda s, c: verify_case(s, c, "grid:zhou", grids=MINE, **again))


def test_photos_must_be_stored_attachment_ids(env: Path) -> None:
    number = handled_case()
    bad = lambda s, c: verify_case(s, c, "grid:zhou", passed=True, note="", photos=["../x.jpg"], grids=MINE)  # noqa: E731
    _refused(number, "照片未能保存", bad)
    many = [f"att_{i:032x}" for i in range(10)]
    _refused(
        number,
        "最多上传 9 张",
        lambda s, c: verify_case(s, c, "grid:zhou", passed=True, note="", photos=many, grids=MINE),
    )
    long = lambda s, c: verify_case(s, c, "grid:zhou", passed=True, note="长" * 501, photos=[ATT], grids=MINE)  # noqa: E731
    _refused(number, "不要超过 500 字", long)


# --- 核查 in the rules and the pipeline -------------------------------------------------------------------


def test_rules_parse_require_check_and_route_carries_it() -> None:
    def cat(code: str) -> dict[str, object]:
        return {"field": "category", "op": "in", "value": [code]}

    doc: dict[str, object] = {
        "rules": [
            {
                "key": "a",
                "name": "甲",
                "when": cat("06010"),
                "then": {"department": "sanitation", "require_check": True},
            },
            {"key": "b", "name": "乙", "when": cat("06011"), "then": {"department": "sanitation"}},
            {"key": "z", "name": "兜底", "then": {"hold": True}},
        ]
    }
    table = parse_rule_set(doc)
    assert [r.then.require_check for r in table.rules] == [True, False, False]
    assert route(table, sure("06010")).require_check is True
    assert route(table, sure("06011")).require_check is False
    assert route(table, sure(None)).require_check is False
    doc["rules"][0]["then"]["require_check"] = "yes please"  # type: ignore[index]
    with pytest.raises(RulesError, match="require_check 须是 true 或 false"):
        parse_rule_set(doc)


@pytest.fixture
def checking(env: Path) -> None:
    publish(checking_rules(), note="暴露垃圾先核查")


def _report(channel: str = "web", **fields: object) -> str:
    """A resident's report of 暴露垃圾 at a point in GRID, processed by the pipeline; its case number."""
    with session_scope() as s:
        report = Report(
            channel=channel,
            external_id=f"t-{channel}-{fields.pop('n', 1)}",
            text=str(fields.pop("text", "东门菜市场门口垃圾堆了两天没人清理")),
            lat=30.403,
            lon=114.843,
            hints={"category_code": "06010"} | fields.pop("hints", {}),  # type: ignore[operator]
            **fields,
        )
        s.add(report)
        s.commit()
        rid = report.id
    assert rid is not None
    number = process_report(rid)
    assert number is not None
    return number


def test_a_rule_asking_for_a_check_keeps_the_case_reported_for_a_grid_worker(checking: None) -> None:
    number = _report()
    with session_scope() as s:
        case = get_case_by_number(s, number)
        assert case is not None
        assert (case.status, case.needs_check, case.grid_code) == (CaseStatus.REPORTED, True, GRID)
        assert case.department_code is None and case.handle_deadline is None
        actions = [e.action for e in _events(s, case)]
        assert actions == ["open", "classify", EventKind.CHECK_REQUESTED]
        assert _events(s, case)[-1].reason == "rule garbage-exposed"


def test_found_on_site_registers_and_then_routes_and_dispatches_as_the_pipeline_does(checking: None) -> None:
    number = _report()
    with session_scope() as s:
        case = get_case_by_number(s, number)
        assert case is not None
        check_case(s, case, "grid:zhou", found=True, note="", photos=[ATT], grids=MINE)
    with session_scope() as s:
        case = get_case_by_number(s, number)
        assert case is not None
        assert (case.status, case.needs_check, case.department_code) == (CaseStatus.DISPATCHED, False, "sanitation")
        assert case.grid_confidence == 1.0 and case.handle_deadline is not None
        events = _events(s, case)
        assert [e.action for e in events][-2:] == ["check", "dispatch"]
        check = events[-2]
        assert (check.actor, check.from_status, check.to_status) == ("grid:zhou", "reported", "registered")
        assert check.reason == "现场核查属实" and check.data["photos"] == [ATT]
        assert events[-1].actor == "system:pipeline" and (events[-1].reason or "").startswith("规则 v")


def test_found_but_the_category_still_needs_an_agent_is_held_as_any_case_would_be(checking: None) -> None:
    number = _report(hints={"needs_review": True})
    with session_scope() as s:
        case = get_case_by_number(s, number)
        assert case is not None
        check_case(s, case, "grid:zhou", found=True, note="确有垃圾", photos=[], grids=MINE)
        assert (case.status, case.needs_review) == (CaseStatus.REGISTERED, True)
        assert _events(s, case)[-1].action == EventKind.HOLD_FOR_AGENT


def test_not_found_rejects_with_the_reason_and_refuses_without_one(checking: None) -> None:
    number = _report()
    _refused(
        number, "不属实的原因", lambda s, c: check_case(s, c, "grid:zhou", found=False, note="", photos=[], grids=MINE)
    )
    _refused(
        number,
        "不在您负责的网格",
        lambda s, c: check_case(s, c, "grid:far", found=True, note="", photos=[], grids=(FAR_GRID,)),
    )
    with session_scope() as s:
        case = get_case_by_number(s, number)
        assert case is not None
        check_case(s, case, "grid:zhou", found=False, note="现场已无垃圾", photos=[], grids=MINE)
    with session_scope() as s:
        case = get_case_by_number(s, number)
        assert case is not None and (case.status, case.needs_check) == (CaseStatus.REJECTED, False)
        last = _events(s, case)[-1]
        assert (last.action, last.reason, last.data["check"]) == ("reject", "现场已无垃圾", "not_found")
    _refused(
        number,
        "已不在待核查状态",
        lambda s, c: check_case(s, c, "grid:zhou", found=True, note="", photos=[], grids=MINE),
    )


def test_a_case_without_a_check_request_cannot_be_checked(env: Path) -> None:
    number = handled_case()
    _refused(
        number,
        "已不在待核查状态",
        lambda s, c: check_case(s, c, "grid:zhou", found=True, note="", photos=[], grids=MINE),
    )


def test_a_grid_workers_own_report_needs_no_check(checking: None) -> None:
    number = _report(
        Channel.GRID.value, hints={"confirmed_by": "grid:zhou", "grid_code": GRID}, phone=None, address="东门菜市场"
    )
    with session_scope() as s:
        case = get_case_by_number(s, number)
        assert case is not None and case.status == CaseStatus.DISPATCHED and not case.needs_check
        # CONFIRM when the model guessed the same, CORRECT when not: either way the worker's choice, by name.
        confirm = next(e for e in _events(s, case) if e.action in (EventKind.CONFIRM, EventKind.CORRECT))
        assert (confirm.actor, confirm.reason) == ("grid:zhou", "chosen by the grid worker on site")


def test_grid_hints_are_trusted_only_from_a_grid_worker(env: Path) -> None:
    """The grid channel's choice counts under a `grid:` actor only: an agent's name there is no confirmation."""
    number = _report(Channel.GRID.value, hints={"confirmed_by": "agent:li", "grid_code": FAR_GRID})
    with session_scope() as s:
        case = get_case_by_number(s, number)
        assert case is not None and case.grid_code == GRID  # the GPS grid, not the untrusted hint
        assert not [e for e in _events(s, case) if e.action == EventKind.CONFIRM]


def test_whoever_moves_a_case_on_from_reported_ends_its_check_request(checking: None) -> None:
    """An agent's 立案 from the console (or a 不予立案, a 合并) answers the 核查 too: the task disappears."""
    from cases.lifecycle import Action
    from cases.service import apply_action
    from hotline.wiring import wire_case_hooks

    wire_case_hooks()  # as every entry point does
    # Two different matters of one category (the same words would be proposed as one matter first).
    registered, rejected = _report(n=1), _report(n=2, text="小区北门绿化带里扔了好几袋生活垃圾")
    with session_scope() as s:
        for number, action in ((registered, Action.REGISTER), (rejected, Action.REJECT)):
            case = get_case_by_number(s, number)
            assert case is not None and case.needs_check
            apply_action(s, case, action, "agent:li", reason="坐席已电话核实")
    for number in (registered, rejected):
        assert _snapshot(number)[1] is False
