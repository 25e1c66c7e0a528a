"""Supervisors' decisions through the app: pending 延期 requests approved (the deadline moves, and both pages
say to when) or refused (the clock resumes with what it had left); cases returned twice listed for 审定,
shown as awaiting it in the agents' queue and case page, and ruled to a department (binding)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from cases.db import session_scope
from cases.lifecycle import CaseStatus
from cases.models import CaseEvent
from cases.queries import local
from cases.service import get_case_by_number
from routing import department
from routing.models import ExtensionRequest
from tests.console_helpers import login, make_user
from tests.dept_fixtures import returned_case, running, signed_case

HX = {"HX-Request": "true"}


@pytest.fixture
def zhang(client: TestClient) -> str:
    make_user("zhang", "supervisor", display_name="张班长")
    return login(client, "zhang")


def _case(number: str) -> Any:
    with session_scope() as s:
        case = get_case_by_number(s, number)
        assert case is not None
        s.expunge(case)
        return case


def _requested(number: str, days: int = 2) -> int:
    with session_scope() as s:
        case = get_case_by_number(s, number)
        assert case is not None
        req = department.request_extension(
            s, case, "dept:wang", working_days=days, reason="需协调电力部门断电", department_code=case.department_code
        )
        assert req.id is not None
        return req.id


def test_an_approved_extension_moves_the_deadline(client: TestClient, zhang: str) -> None:
    number = signed_case()
    before = _case(number).handle_deadline
    request_id = _requested(number)
    old = client.get("/supervisor/extensions", follow_redirects=False)
    assert old.status_code == 303 and old.headers["location"] == "/supervisor/inbox"
    page = client.get("/supervisor/inbox")
    assert page.status_code == 200
    assert f'data-request="{request_id}"' in page.text and number in page.text
    assert "需协调电力部门断电" in page.text and "2 个工作日" in page.text and "已暂停" in page.text
    assert 'href="/supervisor/inbox" aria-current="page"' in page.text
    assert 'id="count-extensions">1<' in page.text
    no_note = client.post(
        f"/supervisor/extensions/{request_id}",
        data={"csrf_token": zhang, "decision": "approve"},
        follow_redirects=False,
    )
    assert no_note.status_code == 422 and "请填写审批意见" in no_note.text
    r = client.post(
        f"/supervisor/extensions/{request_id}",
        data={"csrf_token": zhang, "decision": "approve", "note": "同意，抓紧协调"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == f"/supervisor/inbox?r={request_id}"
    after = _case(number)
    assert after.extension_count == 1 and after.handle_deadline > before
    done = client.get(r.headers["location"])
    assert "已批准工单" in done.text and local(after.handle_deadline) in done.text
    assert f'data-request="{request_id}"' not in done.text  # no longer pending
    clock = running(number)
    assert clock is not None and clock.paused_at is None and clock.due_at == after.handle_deadline
    with session_scope() as s:
        req = s.get(ExtensionRequest, request_id)
        assert req is not None and (req.state, req.decided_by, req.decision_note) == (
            "approved",
            "supervisor:zhang",
            "同意，抓紧协调",
        )
    # The department sees the decision and the new deadline.
    make_user("wang", "department")
    client.cookies.clear()
    login(client, "wang")
    dept = client.get(f"/dept/cases/{number}")
    assert "已批准" in dept.text and "张班长" in dept.text and local(after.handle_deadline) in dept.text
    # Deciding again: refused in Chinese, nothing changes.
    make_user("zhou", "supervisor")
    client.cookies.clear()
    csrf = login(client, "zhou")
    again = client.post(
        f"/supervisor/extensions/{request_id}",
        data={"csrf_token": csrf, "decision": "refuse", "note": "不同意"},
        follow_redirects=False,
    )
    assert again.status_code == 422 and "已处理" in again.text
    assert _case(number).extension_count == 1


def test_a_refused_extension_resumes_the_clock(client: TestClient, zhang: str) -> None:
    number = signed_case()
    request_id = _requested(number, days=1)
    r = client.post(
        f"/supervisor/extensions/{request_id}",
        data={"csrf_token": zhang, "decision": "refuse", "note": "现有时限足够"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert "已驳回" in client.get(r.headers["location"]).text
    case = _case(number)
    assert case.extension_count == 0
    clock = running(number)
    assert clock is not None and clock.paused_at is None and clock.due_at is not None
    assert (
        client.post(
            "/supervisor/extensions/999999", data={"csrf_token": zhang, "decision": "approve", "note": "x"}
        ).status_code
        == 404
    )


def test_a_case_returned_twice_waits_for_a_ruling_and_the_ruling_binds(client: TestClient, zhang: str) -> None:
    once = returned_case(1)
    twice = returned_case(2)
    # The agents' queue: both returned, the second marked as waiting for 审定.
    queue = client.get("/console/?kind=returned")
    assert once in queue.text and twice in queue.text and "待班长审定" in queue.text
    panel = client.get(f"/console/cases/{twice}/actions", headers=HX)
    assert "待班长审定" in panel.text and "/dispatch" not in panel.text
    assert f"/console/cases/{once}/dispatch" in client.get(f"/console/cases/{once}/actions", headers=HX).text
    assert client.get("/supervisor/rulings", follow_redirects=False).headers["location"] == "/supervisor/inbox"
    page = client.get("/supervisor/inbox")
    assert page.status_code == 200 and 'id="count-rulings">1<' in page.text
    assert f'data-number="{twice}"' in page.text and f'data-number="{once}"' not in page.text
    assert "第1次：该处属市政管养范围" in page.text and "第2次：该处属市政管养范围" in page.text
    assert page.text.count("区环境卫生管理处") >= 2  # who returned it, each time
    missing = client.post(
        f"/supervisor/rulings/{twice}", data={"csrf_token": zhang, "reason": "职责清单第3条"}, follow_redirects=False
    )
    assert missing.status_code == 422 and "请选择负责办理的承办单位" in missing.text and "职责清单第3条" in missing.text
    r = client.post(
        f"/supervisor/rulings/{twice}",
        data={"csrf_token": zhang, "department_code": "municipal", "reason": "职责清单第3条：井盖周边归市政"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert "已审定由区市政工程管理处负责办理" in client.get(r.headers["location"]).text
    case = _case(twice)
    assert (case.status, case.department_code) == (CaseStatus.DISPATCHED.value, "municipal")
    with session_scope() as s:
        [rule] = s.exec(select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.action == "rule")).all()
        assert rule.actor == "supervisor:zhang"
    assert (
        client.post(
            f"/supervisor/rulings/{once}", data={"csrf_token": zhang, "department_code": "municipal", "reason": "x"}
        ).status_code
        == 404
    )  # returned once
    # Binding: the department named cannot return it.
    make_user("qian", "department", department_code="municipal")
    client.cookies.clear()
    csrf = login(client, "qian")
    page = client.get(f"/dept/cases/{twice}")
    assert page.status_code == 200 and "审定" in page.text
    refused = client.post(
        f"/dept/cases/{twice}/return",
        data={"csrf_token": csrf, "reason_code": "not_ours", "reason_text": "还是不归我们"},
        follow_redirects=False,
    )
    assert refused.status_code == 422 and "不能再退单" in refused.text
    assert _case(twice).status == CaseStatus.DISPATCHED.value


def test_only_supervisors_decide(client: TestClient) -> None:
    number = signed_case()
    request_id = _requested(number)
    make_user("li", "agent")
    csrf = login(client, "li")
    assert client.get("/supervisor/extensions").status_code == 403
    assert client.get("/supervisor/inbox").status_code == 403
    r = client.post(
        f"/supervisor/extensions/{request_id}", data={"csrf_token": csrf, "decision": "approve", "note": "x"}
    )
    assert r.status_code == 403
    with session_scope() as s:
        req = s.get(ExtensionRequest, request_id)
        assert req is not None and req.state == "pending"


def test_one_inbox_holds_both_kinds_oldest_first_with_counts(client: TestClient, zhang: str) -> None:
    twice = returned_case(2)  # waiting since its second 退单
    number = signed_case()
    request_id = _requested(number)  # asked after that
    page = client.get("/supervisor/inbox")
    kinds = [part.split('"')[0] for part in page.text.split('data-kind="')[1:]]
    assert kinds == ["ruling", "extension"]
    assert page.text.index(f'data-number="{twice}"') < page.text.index(f'data-request="{request_id}"')
    badge = client.get("/supervisor/inbox/counts")
    assert badge.status_code == 200 and ">2<" in badge.text and "延期审批 1 件，退单审定 1 件" in badge.text
    assert 'hx-get="/supervisor/inbox/counts"' in page.text  # the nav loads it on every page


def test_reassign_from_the_inbox_and_from_the_case_page(client: TestClient, zhang: str) -> None:
    number = signed_case()
    _requested(number)
    page = client.get("/supervisor/inbox")
    assert f'action="/supervisor/inbox/reassign/{number}"' in page.text
    no_reason = client.post(
        f"/supervisor/inbox/reassign/{number}", data={"csrf_token": zhang, "department_code": "municipal"}
    )
    assert no_reason.status_code == 422 and "请填写改派的原因" in no_reason.text
    r = client.post(
        f"/supervisor/inbox/reassign/{number}",
        data={"csrf_token": zhang, "department_code": "municipal", "reason": "井盖属市政"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    done = client.get(r.headers["location"])
    assert f"工单 {number} 已改派至区市政工程管理处" in done.text
    assert f'data-number="{number}"' not in done.text  # its 延期 request ended with the old department's clock
    case = _case(number)
    assert (case.status, case.department_code) == (CaseStatus.DISPATCHED.value, "municipal")

    panel = client.get(f"/console/cases/{number}/actions", headers=HX)
    assert f"/console/cases/{number}/reassign" in panel.text and "改派" in panel.text
    moved = client.post(
        f"/console/cases/{number}/reassign",
        data={"csrf_token": zhang, "department_code": "sanitation", "reason": "核实后仍属环卫"},
        headers=HX,
    )
    assert moved.status_code == 200 and "已改派至区环境卫生管理处" in moved.text
    timeline = client.get(f"/console/cases/{number}")
    assert "改派：由区市政工程管理处（municipal）改派至区环境卫生管理处（sanitation）" in timeline.text
    assert "核实后仍属环卫" in timeline.text
    # An agent sees no 改派 and may not post it.
    make_user("li", "agent")
    client.cookies.clear()
    csrf = login(client, "li")
    assert "/reassign" not in client.get(f"/console/cases/{number}/actions", headers=HX).text
    refused = client.post(
        f"/console/cases/{number}/reassign", data={"csrf_token": csrf, "department_code": "municipal", "reason": "x"}
    )
    assert refused.status_code == 403 and _case(number).department_code == "sanitation"
