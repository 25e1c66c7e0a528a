"""The rule editor's pages: a supervisor opens a draft, adds and edits rules in the form (refusals come
back in the form with the Chinese reason, 422), reorders, duplicates, disables, deletes, sees problems
inline, publishes with a note, compares versions and rolls back; the list shows hits from the rule
stats when that module is there."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from agent_ui.supervisor import rule_hits
from cases import providers
from cases.db import session_scope
from cases.service import get_case_by_number
from routing.decision_records import decisions_of
from routing.rule_sets import draft, published, spec_of
from routing.ruleset import ROUTING_TABLE
from tests.console_helpers import GRID, login, make_user
from tests.rules_helpers import route_report

COMMUNITY = GRID[:12]


@pytest.fixture
def supervisor(client: TestClient) -> str:
    make_user("zhao.zg", "supervisor", display_name="赵主管")
    return login(client, "zhao.zg")


def post(client: TestClient, csrf: str, path: str, **data: Any) -> Any:
    return client.post(path, data={"csrf_token": csrf, **data}, follow_redirects=False)


def new_rule(**over: Any) -> dict[str, Any]:
    form: dict[str, Any] = {
        "name": "东门社区暴露垃圾",
        "rule_key": "dongmen-garbage",
        "state": "active",
        "cond_mode": "all",
        "cond_field": ["category", "community"],
        "cond_op": ["in", "in"],
        "cond_value": ["06010", COMMUNITY],
        "department": "municipal",
        "dispatch": "dispatch",
    }
    return form | over


def draft_keys() -> list[str]:
    with session_scope() as s:
        d = draft(s)
        assert d is not None
        return [r.key for r in spec_of(s, d).rules]


def test_the_page_shows_the_version_and_its_rules_in_words(client: TestClient, supervisor: str) -> None:
    page = client.get("/supervisor/rules")
    assert page.status_code == 200
    html = page.text
    assert 'href="/supervisor/rules" aria-current="page"' in html and ">规则</a>" in html
    assert re.search(r'id="current-version">v\d+<', html) and "种子：rules.yaml" in html
    row = html[html.index('id="current-rules-garbage-exposed"') :]
    assert "类别属于 06010 暴露垃圾" in row[:2000] and "派给 sanitation" in row[:2000]
    assert 'id="rules-open-draft"' in html and 'href="/supervisor/rules/backtest"' in html
    assert "近 7 天命中" in html and "影子命中" in html


def test_open_a_draft_add_a_rule_fix_its_problem_and_publish(client: TestClient, supervisor: str) -> None:
    r = post(client, supervisor, "/supervisor/rules/draft")
    assert r.status_code == 303 and r.headers["location"] == "/supervisor/rules?done=opened#draft"
    assert client.get("/supervisor/rules/draft/rule/new").status_code == 200
    r = post(client, supervisor, "/supervisor/rules/draft/rule/new", **new_rule())
    assert r.status_code == 303, r.text[-2000:]
    keys = draft_keys()
    assert keys[-2] == "dongmen-garbage"
    page = client.get("/supervisor/rules").text
    problems = page[page.index('id="draft-rules-dongmen-garbage-problems"') :][:600]
    assert "被第 1 条『暴露垃圾』挡住" in problems
    assert 'id="draft-publish-button" disabled' in page
    refused = post(client, supervisor, "/supervisor/rules/draft/publish", note="东门改派")
    assert refused.status_code == 422 and "草稿还有 1 个问题" in refused.text
    r = post(client, supervisor, "/supervisor/rules/draft/rule/dongmen-garbage/move", direction="to", position="1")
    assert r.status_code == 303 and draft_keys()[0] == "dongmen-garbage"
    page = client.get("/supervisor/rules").text
    assert "草稿检查通过" in page and "新增第 1 条规则『东门社区暴露垃圾』" in page
    assert post(client, supervisor, "/supervisor/rules/draft/publish", note="").status_code == 422
    with session_scope() as s:
        before = published(s)
        assert before is not None
    r = post(client, supervisor, "/supervisor/rules/draft/publish", note="东门社区暴露垃圾改派市政")
    assert r.status_code == 303 and "done=published" in r.headers["location"]
    with session_scope() as s:
        now = published(s)
        assert now is not None and now.version == (before.version or 0) + 1
        assert (now.note, now.published_by) == ("东门社区暴露垃圾改派市政", "supervisor:zhao.zg")
        assert spec_of(s, now).rules[0].then.department == "municipal" and draft(s) is None
    page = client.get(r.headers["location"]).text
    assert "已发布为新版本" in page and f'id="current-version">v{now.version}<' in page
    assert '<dd id="current-editor">supervisor:zhao.zg</dd>' in page and "东门社区暴露垃圾改派市政" in page


def test_the_form_refuses_in_chinese_and_keeps_what_was_typed(client: TestClient, supervisor: str) -> None:
    post(client, supervisor, "/supervisor/rules/draft")
    cases = [
        (new_rule(department="nobody"), "承办单位 nobody 不存在或已停用"),
        (new_rule(cond_value=["99999", COMMUNITY]), "类别 99999 不是启用的事项类别"),
        (new_rule(cond_field=["grid"], cond_op=["in"], cond_value=["1"]), "网格 1 不存在"),
        (new_rule(cond_field=["time_of_day"], cond_op=["between"], cond_value=["22:00"]), "时段请写成"),
        (new_rule(cond_field=["time_of_day"], cond_op=["between"], cond_value=["08:00-08:00"]), "永远不会命中"),
        (new_rule(cond_field=["category", "category"], cond_value=["06010", "01001"]), "永远不会命中"),
        (new_rule(cond_field=["category_confidence"], cond_op=["lt"], cond_value=["abc"]), "须是数字"),
        (new_rule(cond_json="{not json"), "高级条件不是有效的 JSON"),
        (new_rule(rule_key="garbage-exposed"), "规则编号 garbage-exposed 已被另一条规则使用"),
        (new_rule(expires_on="2026-13-01"), "到期日"),
    ]
    for form, message in cases:
        r = post(client, supervisor, "/supervisor/rules/draft/rule/new", **form)
        assert r.status_code == 422, (form, r.status_code)
        assert message in r.text, (message, re.findall(r'id="rule-form-error">([^<]*)', r.text))
        assert 'value="东门社区暴露垃圾"' in r.text  # what was typed stays
    assert "dongmen-garbage" not in draft_keys()


def test_nested_conditions_go_through_the_json_box(client: TestClient, supervisor: str) -> None:
    post(client, supervisor, "/supervisor/rules/draft")
    nested = (
        '{"all": [{"field": "category", "op": "in", "value": ["06010"]}, {"any": ['
        f'{{"field": "community", "op": "in", "value": ["{COMMUNITY}"]}}, '
        '{"field": "text", "op": "contains_any", "value": ["菜市场"]}]}]}'
    )
    r = post(client, supervisor, "/supervisor/rules/draft/rule/new", **new_rule(cond_json=nested, rule_key=""))
    assert r.status_code == 303
    key = next(k for k in draft_keys() if k.startswith("rule-"))
    form = client.get(f"/supervisor/rules/draft/rule/{key}").text
    assert "<details open" in form and "菜市场" in form  # shown as JSON: it does not fit rows
    # Edit it back to rows, rename it and make it a shadow rule.
    edit = new_rule(rule_key="dongmen-shadow", state="shadow", cond_json="")
    r = post(client, supervisor, f"/supervisor/rules/draft/rule/{key}", **edit)
    assert r.status_code == 303
    assert "dongmen-shadow" in draft_keys() and key not in draft_keys()
    form = client.get("/supervisor/rules/draft/rule/dongmen-shadow").text
    assert 'id="cond-value-2" value="' + COMMUNITY + '"' in form and '<option value="shadow" selected>' in form


def test_row_buttons_state_move_duplicate_delete_settings_discard(client: TestClient, supervisor: str) -> None:
    post(client, supervisor, "/supervisor/rules/draft")
    first = draft_keys()[0]
    page = client.get("/supervisor/rules").text
    for suffix in ("edit", "state-shadow", "state-disabled", "up", "down", "move-to", "duplicate", "delete"):
        assert f'id="rule-{first}-{suffix}"' in page, suffix
    base = f"/supervisor/rules/draft/rule/{first}"
    assert post(client, supervisor, base + "/state", state="disabled").status_code == 303
    assert post(client, supervisor, base + "/state", state="gone").status_code == 422
    assert post(client, supervisor, base + "/duplicate").status_code == 303
    assert draft_keys()[:2] == [first, f"{first}-copy"]
    assert post(client, supervisor, base + "/move", direction="down").status_code == 303
    assert draft_keys()[:2] == [f"{first}-copy", first]
    assert post(client, supervisor, base + "/move", direction="sideways").status_code == 422
    assert post(client, supervisor, f"{base}-copy/delete").status_code == 303
    assert f"{first}-copy" not in draft_keys()
    assert post(client, supervisor, "/supervisor/rules/draft/rule/nothing/delete").status_code == 422
    r = post(
        client, supervisor, "/supervisor/rules/draft/settings", default_grade="urgent", min_decision_confidence="0.5"
    )
    assert r.status_code == 303
    bad = post(client, supervisor, "/supervisor/rules/draft/settings", default_grade="x", min_decision_confidence="2")
    assert bad.status_code == 422 and "派遣置信度门槛" in bad.text
    page = client.get("/supervisor/rules").text
    assert "派遣置信度门槛由“0.6”改为“0.5”" in page and "状态由“生效”改为“停用”" in page
    assert post(client, supervisor, "/supervisor/rules/draft/discard").status_code == 303
    with session_scope() as s:
        assert draft(s) is None
    assert client.get(base, follow_redirects=False).status_code == 303  # no draft: back to the list


def test_versions_diff_and_rollback(client: TestClient, supervisor: str) -> None:
    with session_scope() as s:
        first = published(s)
        assert first is not None and first.version is not None
        v1 = first.version
    post(client, supervisor, "/supervisor/rules/draft")
    post(client, supervisor, "/supervisor/rules/draft/rule/garbage-exposed/state", state="shadow")
    post(client, supervisor, "/supervisor/rules/draft/publish", note="暴露垃圾改为影子")
    versions = client.get("/supervisor/rules/versions").text
    assert f'id="version-{v1}-rollback"' in versions and f'id="version-{v1 + 1}-rollback"' not in versions
    assert "暴露垃圾改为影子" in versions
    d = client.get(f"/supervisor/rules/diff?a={v1}&b={v1 + 1}").text
    assert (
        f"v{v1} → v{v1 + 1}：1 处改动" in d and "修改规则『暴露垃圾』（garbage-exposed）：状态由“生效”改为“影子”" in d
    )
    assert client.get("/supervisor/rules/diff?a=999&b=1").status_code == 404
    assert post(client, supervisor, f"/supervisor/rules/versions/{v1}/rollback", note="").status_code == 422
    r = post(client, supervisor, f"/supervisor/rules/versions/{v1}/rollback", note="影子效果不好，回滚")
    assert r.status_code == 303
    with session_scope() as s:
        now = published(s)
        assert now is not None and (now.version, now.based_on, now.note) == (v1 + 2, v1, "影子效果不好，回滚")
        assert spec_of(s, now).rules == spec_of(s, first).rules
    old = client.get(f"/supervisor/rules?version={v1 + 1}").text
    assert "历史版本" in old and 'data-state="shadow"' in old


@dataclass(frozen=True)
class FakeStats:
    key: str
    hits_by_day: list[int]
    total: int
    shadow: int


def test_hits_per_day_and_shadow_counts_when_the_stats_are_there(
    client: TestClient, supervisor: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[tuple[list[str], int]] = []

    def fake(session: Session, keys: Sequence[str], days: int, now: datetime) -> dict[str, Any]:
        asked.append((list(keys), days))
        return {"garbage-exposed": FakeStats("garbage-exposed", [0, 1, 4, 2, 0, 3, 5], 15, 2)}

    monkeypatch.setattr(rule_hits, "rule_stats", fake)
    page = client.get("/supervisor/rules").text
    assert asked and asked[0][1] == 7 and "garbage-exposed" in asked[0][0]
    row = page[page.index('id="current-rules-garbage-exposed"') :][:4000]
    assert "近 7 天每日命中：0、1、4、2、0、3、5" in row and '<span class="small">15</span>' in row
    assert "近 7 天命中" in page


def test_a_published_draft_routes_the_next_report(client: TestClient, supervisor: str) -> None:
    post(client, supervisor, "/supervisor/rules/draft")
    post(client, supervisor, "/supervisor/rules/draft/rule/new", **new_rule())
    post(client, supervisor, "/supervisor/rules/draft/rule/dongmen-garbage/move", direction="to", position="1")
    assert post(client, supervisor, "/supervisor/rules/draft/publish", note="东门改派市政").status_code == 303
    providers.reset(ROUTING_TABLE)  # as the digest refresh does within seconds
    number = route_report("rules-page-1")
    with session_scope() as s:
        case = get_case_by_number(s, number)
        assert case is not None and case.grid_code == GRID
        (record,) = decisions_of(s, case.id or 0)
        assert (case.department_code, record.rule_key, record.rule_position) == ("municipal", "dongmen-garbage", 1)


def test_the_inline_check_says_what_saving_would(client: TestClient, supervisor: str) -> None:
    post(client, supervisor, "/supervisor/rules/draft")
    check = "/supervisor/rules/draft/rule/check"
    hidden = post(client, supervisor, check, **new_rule())
    assert hidden.status_code == 200 and 'id="rule-check-problem"' in hidden.text and "挡住" in hidden.text
    refused = post(client, supervisor, check, **new_rule(department="nobody"))
    assert refused.status_code == 200 and "承办单位 nobody 不存在或已停用" in refused.text
    ok = post(client, supervisor, check, **new_rule(cond_value=["06010", "421102009009"]), editing="garbage-exposed")
    assert 'id="rule-check-error"' in ok.text and "社区 421102009009 不存在" in ok.text
    edit_first = post(client, supervisor, check, **new_rule(rule_key=""), editing="garbage-exposed")
    assert 'id="rule-check-ok"' in edit_first.text  # in place of the first rule nothing hides it
    assert "dongmen-garbage" not in draft_keys()  # nothing saved
    reserved = post(client, supervisor, "/supervisor/rules/draft/rule/new", **new_rule(rule_key="check"))
    assert reserved.status_code == 422 and "规则编号不能是 check" in reserved.text
