"""/console/new: a case typed while the resident is on the line. Live suggestions from the loaded
classifier, the caller's earlier cases once the number is complete, one report per form however often
it is submitted, and the agent's category and grid counted as a confirmation under their name."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlmodel import col, select

from cases.db import session_scope
from cases.models import Case, CaseEvent, Report
from classifiers.models import LabelledExample
from tests.console_helpers import GRID, login, make_user

KEY = re.compile(r'name="key" value="([0-9a-f]{32})"')
PHONE = "13900139000"
TEXT = "东门菜市场门口的垃圾桶满了，垃圾堆在路边好几天没人清理，味道很大"


@pytest.fixture
def csrf(client: TestClient) -> str:
    make_user("li", "agent", display_name="李晓")
    return login(client, "li")


def _form_key(client: TestClient, path: str = "/console/new") -> str:
    page = client.get(path)
    assert page.status_code == 200
    match = KEY.search(page.text)
    assert match, page.text[:500]
    return match.group(1)


def _submit(client: TestClient, csrf: str, **fields: str) -> object:
    data = {"csrf_token": csrf, "description": TEXT, "phone": PHONE, "place": "东门菜市场"} | fields
    return client.post("/console/new", data=data, follow_redirects=False)


def _cases_of(phone: str) -> list[tuple[Case, Report]]:
    with session_scope() as s:
        rows = s.exec(select(Case, Report).join(Report, col(Report.case_id) == col(Case.id))).all()
        for case, report in rows:
            s.expunge(case)
            s.expunge(report)
        return [(c, r) for c, r in rows if r.phone == phone]


def test_suggestions_are_the_classifiers_top3_for_the_typed_text(client: TestClient, csrf: str) -> None:
    r = client.post(
        "/console/new/suggest",
        data={"description": TEXT, "place": "东门菜市场"},
        headers={"X-CSRF-Token": csrf, "HX-Request": "true"},
    )
    assert r.status_code == 200
    assert r.text.lstrip().startswith('<section class="panel suggestions" id="suggestions"')  # the block alone
    assert "<html" not in r.text and "电话登记" not in r.text
    from classifiers.base import ReportFacts
    from classifiers.serving.registry import get_classifier

    top3 = get_classifier().classify(ReportFacts(text=TEXT, address="东门菜市场")).category_top3
    assert len(top3) == 3
    picks = re.findall(r'data-pick="category_code" data-code="(\d+)" data-key="(\d)"', r.text)
    assert picks == [(code, str(i)) for i, (code, _) in enumerate(top3, start=1)]
    assert picks[0][0] == "06042"  # 垃圾站（箱）满溢: a full bin, for this text
    grids = re.findall(r'data-pick="grid_code" data-code="(\d+)" data-key="(\d)"', r.text)
    assert grids[0] == (GRID, "4")  # 东门菜市场 is in 东门社区第1网格
    # Another text, other suggestions: nothing here is fixed
    other = client.post(
        "/console/new/suggest",
        data={"description": "青砖湖公园旁边路灯不亮了，晚上很黑", "place": ""},
        headers={"X-CSRF-Token": csrf},
    )
    assert "01037" in re.findall(r'data-pick="category_code" data-code="(\d+)"', other.text)  # 路灯异常
    assert re.findall(r'data-pick="grid_code" data-code="(\d+)"', other.text)[0] == "421102001002001"
    empty = client.post("/console/new/suggest", data={"description": " "}, headers={"X-CSRF-Token": csrf})
    assert "data-pick" not in empty.text and "输入问题描述后显示" in empty.text


def test_earlier_cases_appear_for_a_complete_number_only(client: TestClient, csrf: str) -> None:
    assert _submit(client, csrf, key=_form_key(client)).status_code == 303
    [(case, _)] = _cases_of("+86" + PHONE)
    complete = client.get("/console/new/history", params={"phone": "139 0013 9000"})
    assert complete.status_code == 200
    assert case.number in complete.text and f'href="/console/cases/{case.number}"' in complete.text
    assert "139****9000" in complete.text and PHONE not in complete.text  # masked
    partial = client.get("/console/new/history", params={"phone": "1390013"})
    assert case.number not in partial.text and "号码填完整后显示" in partial.text
    stranger = client.get("/console/new/history", params={"phone": "13700137000"})
    assert case.number not in stranger.text and "还没有反映过问题" in stranger.text


def test_submit_makes_one_report_and_one_case_however_often(client: TestClient, csrf: str) -> None:
    key = _form_key(client)
    first = _submit(client, csrf, key=key)
    again = _submit(client, csrf, key=key)  # a double click, a resubmitted form
    assert first.status_code == again.status_code == 303
    assert first.headers["location"] == again.headers["location"] == f"/console/new/{key}"
    with session_scope() as s:
        reports = s.exec(select(Report)).all()
        assert [(r.channel, r.external_id) for r in reports] == [("agent", f"console-{key}")]
        assert reports[0].phone == "+86" + PHONE and reports[0].address == "东门菜市场"
        assert len(s.exec(select(Case)).all()) == 1
        number = s.get(Case, reports[0].case_id).number  # type: ignore[union-attr]
    landed = client.get(f"/console/new/{key}", follow_redirects=False)
    assert landed.status_code == 303 and landed.headers["location"] == f"/console/cases/{number}"
    status = client.get(f"/console/new/{key}/status", headers={"HX-Request": "true"})
    assert status.headers["HX-Redirect"] == f"/console/cases/{number}"
    assert _form_key(client) != key  # every form shown gets its own key
    assert client.get(f"/console/new/{'0' * 32}").status_code == 404


def test_the_agents_category_and_grid_dispatch_without_a_hold(client: TestClient, csrf: str) -> None:
    # A text the model cannot place (no place name): without the agent's choice it would wait for one.
    text = "有人在那边乱倒建筑垃圾，已经堆了很多"
    _submit(client, csrf, key=_form_key(client), description=text, place="")
    _submit(client, csrf, key=_form_key(client), description=text, place="", category_code="06010", grid_code=GRID)
    with session_scope() as s:
        cases = s.exec(select(Case).order_by(col(Case.id))).all()
        assert [c.needs_review for c in cases] == [True, False]
        held, confirmed = cases
        assert held.status == "registered"
        assert confirmed.status == "dispatched" and confirmed.department_code == "sanitation"
        assert (confirmed.category_code, confirmed.grid_code, confirmed.grid_source) == ("06010", GRID, "agent")
        events = s.exec(select(CaseEvent).where(CaseEvent.case_id == confirmed.id).order_by(col(CaseEvent.id))).all()
        kinds = [(e.action, e.actor) for e in events]
        assert ("hold_for_agent", "system:pipeline") not in kinds
        assert [a for a, _ in kinds][-2:] in (["confirm", "dispatch"], ["correct", "dispatch"])
        assert kinds[-2][1] == "agent:li"  # who confirmed, in the audit trail
        assert events[-2].data["category_code"][1] == "06010" and events[-2].data["grid_code"][1] == GRID
        example = s.exec(select(LabelledExample)).one()
        assert (example.label, example.grid_code, example.who) == ("06010", GRID, "agent:li")


def test_the_agents_category_alone_is_no_confirmation(client: TestClient, csrf: str) -> None:
    _submit(client, csrf, key=_form_key(client), description="有人乱倒垃圾", place="", category_code="06010")
    with session_scope() as s:
        case = s.exec(select(Case)).one()
        assert case.needs_review and case.category_code == "06010"
        assert "confirm" not in [e.action for e in s.exec(select(CaseEvent).where(CaseEvent.case_id == case.id))]


def test_bad_input_is_refused_in_chinese_with_the_typed_values_kept(client: TestClient, csrf: str) -> None:
    key = _form_key(client)
    r = _submit(client, csrf, key=key, phone="12345", description="路灯<script>x</script>不亮", place="考棚街")
    assert r.status_code == 422
    assert "来电号码格式不正确" in r.text
    assert 'value="12345"' in r.text and 'value="考棚街"' in r.text and f'value="{key}"' in r.text
    assert "路灯&lt;script&gt;x&lt;/script&gt;不亮" in r.text and "<script>x" not in r.text
    for fields, message in (
        ({"description": " "}, "请填写问题描述"),
        ({"category_code": "99999"}, "所选事项类别或网格不存在"),
        ({"grid_code": "421102001009009"}, "所选事项类别或网格不存在"),
        ({"key": "not-a-key"}, "表单已失效"),
    ):
        refused = _submit(client, csrf, **({"key": key} | fields))
        assert refused.status_code == 422 and message in refused.text, fields
    with session_scope() as s:
        assert s.exec(select(Report)).all() == []


def test_only_agents_and_supervisors_type_cases(client: TestClient) -> None:
    make_user("wang", "department")
    login(client, "wang")
    assert client.get("/console/new").status_code == 403


def test_an_agents_hints_from_another_channel_are_not_trusted(client: TestClient) -> None:
    from cases.states import Channel
    from intake.core import accept
    from intake.schemas import ReportIn

    hints = {"category_code": "06010", "grid_code": GRID, "confirmed_by": "agent:li"}
    for channel in (Channel.WEB, Channel.AGENT):
        with session_scope() as s:
            accept(s, ReportIn(channel=channel, external_id=f"t-{channel}", text="有人乱倒垃圾", hints=hints))
    with session_scope() as s:
        by_channel = {r.channel: s.get(Case, r.case_id) for r in s.exec(select(Report)).all() if r.case_id is not None}
        web, agent = by_channel["web"], by_channel["agent"]
        assert web is not None and agent is not None
        assert web.needs_review and web.grid_code != GRID  # a resident cannot name a grid or an agent
        assert not agent.needs_review and agent.grid_code == GRID and agent.status == "dispatched"
