"""The decision record in words (routing.explain): one sentence for a dispatch by a rule, a hold by the gate
(with the confidence and the version's threshold), a rule's own hold, the pipeline's other holds, a
supervisor's 改派 with the reason; and the detail rows: inputs, outcome, rules above that did not apply,
shadow rules that would have matched."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time

from cases.reference import GridNames, Named, ReferenceNames
from routing.conditions import RoutingInputs, parse_condition
from routing.decision_records import decision_record
from routing.explain import Places, explain
from routing.models import DecisionKind
from routing.rules import RoutingDecision, RoutingRule, RuleActions, RuleState, route
from tests.rules_helpers import shipped

GRID = "421102001001001"
NAMES = ReferenceNames(
    categories={"06010": Named("暴露垃圾"), "06011": Named("积存垃圾渣土"), "09006": Named("占道经营"),
                "99000": Named("非城管事项")},
    departments={"sanitation": Named("区环境卫生管理处"), "enforcement": Named("区城市管理执法大队"),
                 "municipal": Named("区市政设施管理处"), "transfer_12345": Named("转 12345")},
    grids={GRID: GridNames("东门社区第1网格", ())},
)  # fmt: skip
PLACES = Places(communities={GRID[:12]: "东门社区"}, streets={GRID[:9]: "赤壁街道"})
DONGMEN = RoutingRule(
    key="dongmen-garbage",
    name="东门社区暴露垃圾",
    when=parse_condition(
        {"all": [{"field": "category", "op": "in", "value": ["06010"]},
                 {"field": "community", "op": "in", "value": [GRID[:12]]}]}
    ),
    then=RuleActions(department="sanitation"),
)  # fmt: skip


def _spec(*first: RoutingRule):  # type: ignore[no-untyped-def]
    base = shipped()
    return replace(base, rules=(*first, *base.rules), version=7)


def _inputs(**kw: object) -> RoutingInputs:
    base = dict(category_code="06010", category_confidence=1.0, grid_code=GRID, channel="web",
                text="东门菜市场门口有垃圾", local_time=time(9, 30), day=datetime(2026, 12, 3).date(),
                day_kind="workday")  # fmt: skip
    return RoutingInputs(**(base | kw))  # type: ignore[arg-type]


def _record(spec, x, held=None, hold_reasons=(), kind=DecisionKind.ROUTE, decision=None, actor="system"):  # type: ignore[no-untyped-def]
    d = decision or route(spec, x)
    held = (not d.auto_dispatch) if held is None else held
    return decision_record(1, d, x, held=held, hold_reasons=hold_reasons, kind=kind, actor=actor,
                           at=datetime(2026, 12, 3, 1, 30, tzinfo=UTC))  # fmt: skip


def test_a_dispatch_names_version_rule_department_and_why() -> None:
    e = explain(_record(_spec(DONGMEN), _inputs()), NAMES, PLACES, threshold=0.6)
    assert (
        e.sentence == "按规则 v7 #1『东门社区暴露垃圾』派给区环境卫生管理处，因为类别是 06010 暴露垃圾、社区是东门社区"
    )
    rows = {r.label: r.value for r in e.inputs}
    assert rows["类别"] == "06010 暴露垃圾（置信度 100%）" and rows["网格"] == f"东门社区第1网格（{GRID}）"
    assert rows["社区"] == "东门社区" and rows["街道"] == "赤壁街道" and rows["渠道"] == "网页"
    assert rows["收到时间"] == "2026-12-03 09:30（工作日）"
    assert {r.label: r.value for r in e.outcome}["处理"] == "立即派遣"
    assert e.skipped == ()


def test_rules_above_that_did_not_match_are_listed_with_their_reason() -> None:
    x = _inputs(category_code="09006")
    e = explain(_record(_spec(DONGMEN), x), NAMES, PLACES)
    assert e.sentence.startswith("按规则 v7 #") and "派给区城市管理执法大队" in e.sentence
    assert e.sentence.endswith("因为类别是 09006 占道经营")
    assert e.skipped[0].name == "东门社区暴露垃圾" and e.skipped[0].position == 1
    assert e.skipped[0].reason == "类别 09006 不属于 06010"
    assert len(e.skipped) >= 3


def test_the_gate_says_how_sure_it_was_and_the_threshold() -> None:
    x = _inputs(category_confidence=0.41, candidates=(("06010", 0.41), ("09006", 0.35), ("99000", 0.24)))
    record = _record(_spec(), x, hold_reasons=["department confidence below the threshold"])
    assert record.held
    e = explain(record, NAMES, PLACES, threshold=0.6)
    assert (
        e.sentence
        == "按规则 v7 #1『暴露垃圾』应派给区环境卫生管理处，转人工确认，因为派给该部门的把握只有 41%（低于 60%）"
    )
    rows = {r.label: r.value for r in e.inputs}
    assert rows["候选类别"] == "06010 暴露垃圾 41%；09006 占道经营 35%；99000 非城管事项 24%"
    assert rows["派遣置信度"].startswith("41%")
    assert {r.label: r.value for r in e.outcome}["处理"] == "转人工确认：派遣置信度低（承办单位不确定）"


def test_a_rules_own_hold_and_the_catch_all() -> None:
    e = explain(
        _record(_spec(), _inputs(category_code="99000"), hold_reasons=["routing rule holds it for an agent"]), NAMES
    )
    assert (
        e.sentence.startswith("按规则 v7 #")
        and "『非城管事项转 12345』拟派给转 12345，转人工确认，因为该规则要求坐席确认（类别是 99000 非城管事项）"
        in e.sentence
    )
    e = explain(
        _record(_spec(), _inputs(category_code="12345"), hold_reasons=["no department for the category"]), NAMES
    )
    assert "『兜底：交坐席判断』转人工确认，因为上面的规则都不适用" in e.sentence


def test_the_pipelines_other_holds_are_worded() -> None:
    e = explain(_record(_spec(), _inputs(grid_code=None), held=True, hold_reasons=["no grid"]), NAMES)
    assert e.sentence == "按规则 v7 #1『暴露垃圾』拟派给区环境卫生管理处，转人工确认，因为未定位网格"
    rows = {r.label: r.value for r in e.inputs}
    assert rows["网格"] == "未定位" and rows["社区"] == "—"


def test_an_agents_confirmation_says_so() -> None:
    e = explain(_record(_spec(), _inputs(), kind=DecisionKind.CONFIRM, actor="agent:li"), NAMES)
    assert e.sentence.startswith("坐席确认类别后，按规则 v7 #1『暴露垃圾』派给区环境卫生管理处")


def test_a_reassignment_names_the_supervisor_and_the_reason() -> None:
    d = RoutingDecision(department_code="municipal", grade="normal", rule_id=None, auto_dispatch=True,
                        reasons=["现场是市政道路，归市政"], confidence=1.0)  # fmt: skip
    record = _record(_spec(), _inputs(), decision=d, kind=DecisionKind.REASSIGN, actor="supervisor:zhang")
    assert explain(record, NAMES, who="张班长").sentence == "张班长改派给区市政设施管理处，原因：现场是市政道路，归市政"
    assert explain(record, NAMES).sentence.startswith("supervisor:zhang改派给")


def test_shadow_rules_that_would_have_matched() -> None:
    trial = replace(DONGMEN, key="try-enforcement", name="试：给执法", state=RuleState.SHADOW,
                    then=RuleActions(department="enforcement"))  # fmt: skip
    e = explain(_record(_spec(trial), _inputs()), NAMES, PLACES)
    assert [(s.key, s.position, s.would) for s in e.shadow] == [("try-enforcement", 1, "派给区城市管理执法大队")]
    assert "#2『暴露垃圾』" in e.sentence  # the shadow rule decided nothing
