"""The case pages say why a case is where it is, from its latest decision record: the agent's case page
(and its header partial) and the department's, one sentence with the details on click — the inputs the
rules saw, the outcome, the rules above that did not match with the reason; a held case says how sure the
rules were against the threshold; a 改派 names the supervisor and the reason."""

from __future__ import annotations

import html
import re

from fastapi.testclient import TestClient

from cases.db import session_scope
from cases.models import Report
from cases.reference import reference_names
from cases.service import get_case_by_number
from routing.conditions import RoutingInputs
from routing.decision_records import record_decision
from routing.pipeline import process_report
from routing.reassign import reassign_case
from routing.rules import route
from routing.ruleset import routing_table
from tests.console_helpers import GRID, login, make_user
from tests.dept_fixtures import dispatched_case

SENTENCE = re.compile(r'<span id="decision-sentence">([^<]*)</span>')


def _sentence(page: str) -> str:
    found = SENTENCE.search(page)
    assert found, "no decision sentence on the page"
    return html.unescape(found.group(1))


def _reported(text: str = "东门菜市场门口垃圾堆了两天", category: str = "06001") -> str:
    with session_scope() as s:
        report = Report(channel="web", external_id=f"pd-{category}", text=text, lat=30.403, lon=114.843,
                        hints={"category_code": category})  # fmt: skip
        s.add(report)
        s.commit()
        rid = report.id
    number = process_report(rid or 0)
    assert number is not None
    return number


def test_the_agents_case_page_says_which_rule_sent_it_where_and_why(client: TestClient) -> None:
    make_user("li", "agent", display_name="李晓")
    login(client, "li")
    number = _reported("有人在东门菜市场旁边乱搭建", category="06001")  # 违法建设 → enforcement
    names = reference_names()
    page = client.get(f"/console/cases/{number}")
    assert page.status_code == 200
    version = routing_table().version
    enforcement = names.department("enforcement")
    sentence = _sentence(page.text)
    assert sentence.startswith(f"按规则 v{version} #")
    assert f"『违法建设』派给{enforcement}，因为类别是 06001 {names.category('06001')}" in sentence
    details = page.text[page.text.index('id="decision-details"') :]
    assert "规则看到的信息" in details and names.grid(GRID) in details and "网页" in details
    assert "类别 06001 不属于 06010、06042" in details  # the first rule, and why it did not match
    assert "立即派遣" in details
    header = client.get(f"/console/cases/{number}/header", headers={"HX-Request": "true"})
    assert _sentence(header.text) == sentence  # the header refreshes after an action with the sentence in it
    api = client.get(f"/console/api/cases/{number}").json()["decision"]
    assert api["sentence"] == sentence and api["skipped"][0]["reason"] == "类别 06001 不属于 06010、06042"


def test_the_department_sees_the_same_sentence(client: TestClient) -> None:
    make_user("zhao", "department", department_code="enforcement", display_name="赵强")
    login(client, "zhao")
    number = _reported("桥下有人乱搭建", category="06001")
    page = client.get(f"/dept/cases/{number}")
    assert page.status_code == 200
    assert "『违法建设』派给" in _sentence(page.text) and 'id="decision-inputs"' in page.text


def test_a_case_held_by_the_gate_says_how_sure_the_rules_were(client: TestClient) -> None:
    make_user("li", "agent")
    login(client, "li")
    number = dispatched_case()
    x = RoutingInputs(category_code="06010", category_confidence=0.41, grid_code=GRID, channel="sms",
                      candidates=(("06010", 0.41), ("09006", 0.35), ("99000", 0.24)))  # fmt: skip
    decision = route(routing_table(), x)
    assert decision.low_confidence
    with session_scope() as s:
        case = get_case_by_number(s, number)
        assert case is not None
        record_decision(s, case, decision, x, held=True, hold_reasons=["department confidence below the threshold"])
        s.commit()
    sentence = _sentence(client.get(f"/console/cases/{number}").text)
    assert sentence.endswith("转人工确认，因为派给该部门的把握只有 41%（低于 60%）"), sentence


def test_a_reassignment_names_the_supervisor_and_the_reason(client: TestClient) -> None:
    make_user("zhang", "supervisor", display_name="张班长")
    login(client, "zhang")
    number = dispatched_case()
    with session_scope() as s:
        case = get_case_by_number(s, number)
        assert case is not None
        reassign_case(s, case, "municipal", "井盖周边属市政管养范围", "supervisor:zhang")
        s.commit()
    sentence = _sentence(client.get(f"/console/cases/{number}").text)
    assert sentence.startswith("张班长")
    assert f"改派给{reference_names().department('municipal')}，原因：井盖周边属市政管养范围" in sentence
