"""The rule form both ways (pure): a rule shown as rows or as JSON when it nests groups, and the posted
fields read back into the rule JSON the parser checks — the same rule again."""

from __future__ import annotations

from typing import Any

import pytest

from agent_ui.supervisor.rule_form import FormProblem, condition_of, form_from_post, form_of, rule_json
from routing.rules import parse_rule
from tests.rules_helpers import shipped


def posted(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "rule_key": "night",
        "name": "夜间噪音",
        "state": "shadow",
        "expires_on": "2026-12-31",
        "cond_mode": "all",
        "cond_field": ["category", "time_of_day", "category_confidence", "repeat_reporter", ""],
        "cond_op": ["prefix", "between", "gte", "", ""],
        "cond_value": ["03, 06", "22:00-6:00", "0.5", "3", ""],
        "department": "sanitation",
        "grade": "urgent",
        "dispatch": "hold",
        "require_check": "1",
        "notify": "municipal，13800138000",
        "tags": "夜间、噪音",
    }
    return base | over


def test_posted_fields_become_the_rule_json() -> None:
    doc = rule_json(form_from_post(posted()))
    assert doc["when"] == {
        "all": [
            {"field": "category", "op": "prefix", "value": ["03", "06"]},
            {"field": "time_of_day", "op": "between", "value": ["22:00", "06:00"]},
            {"field": "category_confidence", "op": "gte", "value": 0.5},
            {"field": "repeat_reporter", "op": "gte", "value": 3},  # its only operator, though none was chosen
        ]
    }
    assert doc["then"] == {
        "department": "sanitation",
        "grade": "urgent",
        "sla_policy": None,
        "hold": True,
        "require_check": True,
        "notify": ["municipal", "13800138000"],
        "tags": ["夜间", "噪音"],
    }
    rule = parse_rule(doc, "表单")
    assert rule.expires_on is not None and rule.expires_on.isoformat() == "2026-12-31"


def test_every_shipped_rule_survives_the_form() -> None:
    for rule in shipped().rules:
        form = form_of(rule)
        back = parse_rule(rule_json(form_from_post(_as_post(form))), "表单")
        assert back == rule, rule.key


def _as_post(form: Any) -> dict[str, Any]:
    return {
        "rule_key": form.key, "name": form.name, "state": form.state, "expires_on": form.expires_on,
        "cond_mode": form.mode, "cond_field": [r.field for r in form.rows], "cond_op": [r.op for r in form.rows],
        "cond_value": [r.value for r in form.rows], "cond_json": form.advanced, "department": form.department,
        "grade": form.grade, "sla_policy": form.sla_policy, "dispatch": "hold" if form.hold else "dispatch",
        "require_check": "1" if form.require_check else "", "notify": form.notify, "tags": form.tags,
    }  # fmt: skip


def test_nested_groups_are_shown_as_json_and_read_back() -> None:
    nested = {"all": [{"field": "category", "op": "in", "value": ["06010"]},
                      {"any": [{"field": "text", "op": "contains_any", "value": ["菜市场"]},
                               {"field": "grid", "op": "in", "value": ["421102001001001"]}]}]}  # fmt: skip
    rule = parse_rule({"key": "n", "name": "嵌套", "when": nested, "then": {"department": "sanitation"}}, "x")
    form = form_of(rule)
    assert form.rows == [] and '"any"' in form.advanced
    assert condition_of(form) == nested
    assert parse_rule(rule_json(form_from_post(_as_post(form))), "x") == rule


def test_no_rows_is_a_catch_all_and_blank_rows_are_ignored() -> None:
    form = form_from_post(posted(cond_field=["", ""], cond_op=["", ""], cond_value=["", " "]))
    assert form.rows == [] and condition_of(form) is None
    assert len(form.padded_rows()) == 4  # a new rule's form has room for a few conditions


@pytest.mark.parametrize(
    ("over", "message"),
    [
        ({"cond_field": ["time_of_day"], "cond_op": ["between"], "cond_value": ["晚上"]}, "时段请写成 开始-结束"),
        ({"cond_field": ["category_confidence"], "cond_op": ["lt"], "cond_value": ["高"]}, "分类置信度须是数字"),
        ({"cond_field": ["repeat_reporter"], "cond_op": ["gte"], "cond_value": ["2.5"]}, "须是整数"),
        ({"cond_field": ["colour"], "cond_op": ["in"], "cond_value": ["red"]}, "第 1 个条件：请选择条件字段"),
        ({"cond_json": "[1, 2]"}, "高级条件须是"),
        ({"cond_json": '{"all": ['}, "高级条件不是有效的 JSON（第 1 行"),
        ({"cond_mode": "most"}, "请选择 全部满足 或 任一满足"),
        (
            {"cond_field": ["category"], "cond_op": [""], "cond_value": ["06010"]},
            "请选择运算（类别可用：属于、以…开头）",
        ),
        ({"cond_field": ["grid"], "cond_op": ["lt"], "cond_value": ["1"]}, "第 1 个条件：请选择运算（网格可用：属于）"),
    ],
)
def test_unreadable_fields_are_said_in_chinese(over: dict[str, Any], message: str) -> None:
    with pytest.raises(FormProblem, match=message):
        rule_json(form_from_post(posted(**over)))


def test_posted_values_are_bounded() -> None:
    form = form_from_post(posted(name="长" * 5000, cond_field=["grid"] * 50, cond_op=["in"] * 50,
                                 cond_value=["1"] * 50, rule_key=["not", "text"]))  # fmt: skip
    assert len(form.name) == 200 and len(form.rows) == 20 and form.key == ""
