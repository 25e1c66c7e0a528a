"""Every routing leaves a decision record: the pipeline's (dispatched or held), an agent's confirmation,
shadow rules' would-have-matched hits; and what a rule's actions do downstream (its SLA policy)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from sqlmodel import select

from cases.db import session_scope
from cases.models import Case, CaseEvent, Report
from cases.service import get_case_by_number
from routing.decision_records import decisions_of
from routing.models import DecisionKind, ShadowHit
from routing.pipeline import process_report
from routing.review import confirm_case
from routing.rules import RuleState
from tests.console_helpers import GRID
from tests.queue_fixtures import held_case
from tests.rules_helpers import publish, shipped, with_actions


def _report(text: str, category: str | None = "06010", n: int = 1) -> str:
    with session_scope() as s:
        hints = {"category_code": category} if category else {}
        report = Report(channel="web", external_id=f"dr-{n}", text=text, lat=30.403, lon=114.843, hints=hints)
        s.add(report)
        s.commit()
        rid = report.id
    assert rid is not None
    number = process_report(rid)
    assert number is not None
    return number


def test_a_dispatch_by_the_rules_is_recorded_with_what_the_rules_saw(env: Path) -> None:
    number = _report("东门菜市场门口垃圾堆了两天")
    with session_scope() as s:
        case = get_case_by_number(s, number)
        assert case is not None and case.department_code == "sanitation"
        (record,) = decisions_of(s, case.id or 0)
        assert (record.kind, record.rule_key, record.rule_position, record.held) == (
            "route",
            "garbage-exposed",
            1,
            False,
        )
        assert record.rule_set_version is not None and record.confidence == 1.0  # the resident chose the category
        assert record.inputs["category_code"] == "06010" and record.inputs["channel"] == "web"
        assert record.inputs["grid_code"] == case.grid_code and record.inputs["day_kind"] in (
            "workday",
            "weekend",
            "holiday",
        )
        assert record.outcome["department"] == "sanitation" and record.skipped == []
        dispatch = s.exec(select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.action == "dispatch")).one()
        assert (dispatch.reason or "").startswith(f"规则 v{record.rule_set_version} #1『暴露垃圾』")
        assert dispatch.data["decision_id"] == record.id


def test_rules_above_the_match_say_why_they_did_not_match(env: Path) -> None:
    number = _report("有人在桥下乱搭建", category="06001")  # 违法建设: the illegal-building rule
    with session_scope() as s:
        case = get_case_by_number(s, number)
        assert case is not None
        (record,) = decisions_of(s, case.id or 0)
        assert record.rule_key == "illegal-building"
        assert [r["key"] for r in record.skipped][:2] == ["garbage-exposed", "sanitation"]
        assert record.skipped[0]["reason"] == "类别 06001 不属于 06010、06042"


def test_a_shadow_rule_is_counted_and_changes_nothing(env: Path) -> None:
    spec = shipped()
    trial = replace(spec.rules[0], key="try-enforcement", name="试：暴露垃圾给执法", state=RuleState.SHADOW)
    trial = replace(trial, then=replace(trial.then, department="enforcement"))
    publish(replace(spec, rules=(trial, *spec.rules)), note="影子试运行")
    number = _report("东门菜市场门口垃圾堆了两天", n=2)
    with session_scope() as s:
        case = get_case_by_number(s, number)
        assert case is not None and case.department_code == "sanitation"
        hit = s.exec(select(ShadowHit)).one()
        assert (hit.rule_key, hit.case_id, hit.would["department"]) == ("try-enforcement", case.id, "enforcement")


def test_a_rules_sla_policy_starts_the_clocks(env: Path) -> None:
    from routing.models import SlaPolicy

    with session_scope() as s:
        code = s.exec(select(SlaPolicy.code).where(SlaPolicy.active, SlaPolicy.category_code.is_(None))).first()  # type: ignore[union-attr]
    assert code is not None
    publish(with_actions(shipped(), "garbage-exposed", sla_policy=code), note="指定时限策略")
    number = _report("东门菜市场门口垃圾堆了两天", n=3)
    with session_scope() as s:
        case = get_case_by_number(s, number)
        assert case is not None and case.sla_policy_code == code


def test_an_agents_confirmation_is_a_decision_record_of_its_own(env: Path) -> None:
    with session_scope() as s:
        case = held_case(s, "桥下那堆东西好几天了", category=None)
        s.commit()
        number = case.number
    with session_scope() as s:
        case = get_case_by_number(s, number)
        assert case is not None
        confirm_case(s, case, "agent:li", category_code="06010", grid_code=GRID)
        s.commit()
    with session_scope() as s:
        case = s.exec(select(Case).where(Case.number == number)).one()
        (record,) = decisions_of(s, case.id or 0)
        assert (record.kind, record.actor, record.rule_key) == (DecisionKind.CONFIRM, "agent:li", "garbage-exposed")
        assert record.confidence == 1.0 and not record.held
