"""The department portal through the app with signed-in users: the queue (own cases only, tabs, counts,
colours, the auto-refresh partial), the case page (the resident's report with the phone masked, the
running clock, 退单 window, photo requirement), each form (签收, 退单, 延期申请, 反馈 with photos, 进展备注,
补充材料/恢复) done and refused in Chinese with what was typed kept; another department's staff get 404 by
page and by every post, a post without the CSRF token 403."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import col, select

from cases.db import session_scope
from cases.lifecycle import CaseStatus
from cases.models import CaseEvent
from cases.service import get_case_by_number
from intake.models import Attachment
from routing.models import ExtensionRequest
from tests.console_helpers import OTHER_DEPARTMENT, login, make_user
from tests.dept_fixtures import MASKED, PHONE, age_dispatch, dispatched_case, png, running, signed_case

HX = {"HX-Request": "true"}
POSTS = ("sign", "return", "extension", "handle", "note", "info", "resume")


@pytest.fixture
def wang(client: TestClient) -> str:
    """Signed in as 王芳 of the sanitation department (the sample city's 区环境卫生管理处); the CSRF token."""
    make_user("wang", "department", display_name="王芳")
    return login(client, "wang")


def _case(number: str) -> Any:
    with session_scope() as s:
        case = get_case_by_number(s, number)
        assert case is not None
        s.expunge(case)
        return case


def _events(number: str, action: str) -> list[CaseEvent]:
    with session_scope() as s:
        case = get_case_by_number(s, number)
        rows = s.exec(select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.action == action)).all()
        for r in rows:
            s.expunge(r)
        return list(rows)


def _post(client: TestClient, csrf: str, number: str, form: str, **data: Any) -> Any:
    return client.post(f"/dept/cases/{number}/{form}", data={"csrf_token": csrf, **data}, follow_redirects=False)


def test_department_staff_land_on_their_queue(client: TestClient) -> None:
    make_user("wang", "department")
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    r = client.post(
        "/login",
        data={"username": "wang", "password": "correct-horse-12319", "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/dept/"
    home = client.get("/dept/")
    assert home.status_code == 200 and 'href="/dept/" aria-current="page"' in home.text


def test_the_queue_shows_the_departments_own_cases_by_tab(client: TestClient, wang: str) -> None:
    mine = dispatched_case("东门菜市场门口垃圾满溢")
    signed = signed_case("北门垃圾桶满了")
    theirs = dispatched_case("路灯不亮了", department_code=OTHER_DEPARTMENT)
    page = client.get("/dept/")
    assert page.status_code == 200
    assert mine in page.text and signed in page.text and theirs not in page.text
    tabs = {m.group(1): int(m.group(2)) for m in re.finditer(r'data-group="(\w*)"[^>]*>[^<]*<strong>(\d+)', page.text)}
    assert tabs == {"": 2, "to_sign": 1, "handling": 1, "to_verify": 0, "returned": 0}
    row = re.search(rf'<tr class="due-(\w+)" data-number="{mine}"', page.text)
    assert row and row.group(1) in ("ok", "warn", "bad")
    handling = client.get("/dept/?group=handling")
    assert signed in handling.text and mine not in handling.text
    # The auto-refresh asks for the rows only, with the same filters.
    rows = client.get("/dept/?group=handling", headers=HX)
    assert rows.status_code == 200 and "<html" not in rows.text and signed in rows.text and mine not in rows.text
    assert 'id="dept-filters"' not in rows.text
    assert "筛选条件无效" in client.get("/dept/?group=nonsense").text
    # A case read by its department: 404 for another department's, by page and by JSON.
    assert client.get(f"/dept/cases/{theirs}").status_code == 404
    assert client.get(f"/console/api/cases/{theirs}").status_code == 404


def test_the_case_page_shows_what_the_department_needs(client: TestClient, wang: str) -> None:
    with session_scope() as s:
        from intake.storage import store_image

        att = store_image(s, png("red"))
        att_id = att.id
    number = dispatched_case(photos=[att_id])
    page = client.get(f"/dept/cases/{number}")
    assert page.status_code == 200
    text = page.text
    assert "东门菜市场门口垃圾满溢，好几天没人管了" in text and "东门菜市场北门" in text
    assert MASKED in text and PHONE not in text and PHONE[3:] not in text  # masked, no reveal here
    assert f"/attachments/{att_id}/thumb" in text
    assert "签收时限" in text and 'id="running-clock"' in text
    assert 'id="return-until"' in text and "首办负责制" in text
    assert "/dept/cases/" + number + "/sign" in text
    assert "/dept/cases/" + number + "/handle" not in text  # sign first
    assert "非本单位职责" in text  # the reason codes


def test_sign_for_starts_the_handling_clock(client: TestClient, wang: str) -> None:
    number = dispatched_case()
    r = _post(client, wang, number, "sign")
    assert r.status_code == 303 and r.headers["location"].startswith(f"/dept/cases/{number}?done=signed")
    case = _case(number)
    assert case.status == CaseStatus.IN_PROGRESS.value
    [event] = _events(number, "accept")
    assert event.actor == "dept:wang"
    clock = running(number)
    assert clock is not None and clock.kind == "handle"
    page = client.get(r.headers["location"])
    assert "已签收" in page.text and "办结时限" in page.text
    assert '现场照片<span class="req">（必传）</span>' in page.text  # 06010's policy asks for photos
    # Signing twice is refused in Chinese and changes nothing.
    again = _post(client, wang, number, "sign")
    assert again.status_code == 422 and "不能签收" in again.text
    assert len(_events(number, "accept")) == 1


def test_return_with_a_reason_code_goes_back_to_the_agents(client: TestClient, wang: str) -> None:
    number = dispatched_case()
    missing = _post(client, wang, number, "return", reason_code="not_ours", reason_text="")
    assert missing.status_code == 422 and "请填写退单说明" in missing.text
    assert 'value="not_ours" selected' in missing.text  # what was chosen is kept
    typed = _post(client, wang, number, "return", reason_code="", reason_text="应由市政处管")
    assert typed.status_code == 422 and "请选择退单原因" in typed.text and "应由市政处管" in typed.text
    assert _case(number).status == CaseStatus.DISPATCHED.value
    r = _post(client, wang, number, "return", reason_code="not_ours", reason_text="该路段由市政处管养")
    assert r.status_code == 303
    case = _case(number)
    assert case.status == CaseStatus.RETURNED.value and case.return_count == 1
    page = client.get(f"/dept/cases/{number}")
    assert "退单记录" in page.text and "该路段由市政处管养" in page.text and "等待热线重新派遣" in page.text
    assert number in client.get("/dept/?group=returned").text
    # The agents' queue shows it as its own kind, with the reason.
    make_user("li", "agent", display_name="李晓")
    client.cookies.clear()
    login(client, "li")
    queue = client.get("/console/?kind=returned")
    assert number in queue.text and "已退单" in queue.text
    assert "退单原因：非本单位职责：该路段由市政处管养" in queue.text


def test_return_after_the_window_is_refused_first_receiver_owns_it(client: TestClient, wang: str) -> None:
    number = dispatched_case()
    age_dispatch(number, timedelta(days=10))
    page = client.get(f"/dept/cases/{number}")
    assert "已超过退单时限" in page.text and "首办负责制" in page.text
    assert f'action="/dept/cases/{number}/return"' not in page.text  # no form to fill in vain
    r = _post(client, wang, number, "return", reason_code="not_ours", reason_text="不归我们管")
    assert r.status_code == 422 and "首办负责制" in r.text
    assert _case(number).status == CaseStatus.DISPATCHED.value


def test_an_extension_request_waits_for_a_supervisor(client: TestClient, wang: str) -> None:
    number = signed_case()
    before = _case(number).handle_deadline
    too_long = _post(client, wang, number, "extension", working_days="9", reason="设备维修")
    assert too_long.status_code == 422 and "延期天数须为1至3个工作日" in too_long.text
    assert "设备维修" in too_long.text
    r = _post(client, wang, number, "extension", working_days="2", reason="需要协调电力部门断电后施工")
    assert r.status_code == 303
    page = client.get(f"/dept/cases/{number}")
    assert 'id="pending-extension"' in page.text and "2 个工作日" in page.text and "待审批" in page.text
    clock = running(number)
    assert clock is not None and clock.paused_at is not None  # the clock waits for the answer
    second = _post(client, wang, number, "extension", working_days="1", reason="再延一天")
    assert second.status_code == 422 and "等待审批" in second.text
    with session_scope() as s:
        [req] = s.exec(select(ExtensionRequest)).all()
        assert (req.requested_by, req.working_days, req.state) == ("dept:wang", 2, "pending")
    assert before is not None


def test_handled_needs_the_photo_its_policy_asks_for(client: TestClient, wang: str) -> None:
    number = signed_case()
    no_photo = _post(client, wang, number, "handle", note="已清运完毕")
    assert no_photo.status_code == 422 and "须上传" in no_photo.text and "已清运完毕" in no_photo.text
    assert _case(number).status == CaseStatus.IN_PROGRESS.value
    bad = client.post(
        f"/dept/cases/{number}/handle",
        data={"csrf_token": wang, "note": "已清运完毕"},
        files={"photos": ("x.png", b"not an image", "image/png")},
        follow_redirects=False,
    )
    assert bad.status_code == 422 and "x.png" in bad.text and "重新选择" in bad.text
    r = client.post(
        f"/dept/cases/{number}/handle",
        data={"csrf_token": wang, "note": "已清运完毕，现场已冲洗"},
        files={"photos": ("after.png", png("blue"), "image/png")},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text[:500]
    assert _case(number).status == CaseStatus.HANDLED.value
    [event] = _events(number, "handle")
    [photo] = event.data["photos"]
    with session_scope() as s:
        att = s.get(Attachment, photo)
        assert att is not None and att.channel == "dept"
    page = client.get(f"/dept/cases/{number}")
    assert "处置反馈" in page.text and f"/attachments/{photo}/thumb" in page.text
    assert "已清运完毕，现场已冲洗" in page.text
    assert client.get(f"/attachments/{photo}").status_code == 200
    assert number in client.get("/dept/?group=to_verify").text


def test_progress_notes_and_waiting_for_the_resident(client: TestClient, wang: str) -> None:
    number = signed_case()
    assert _post(client, wang, number, "note", text="").status_code == 422
    assert _post(client, wang, number, "note", text="已派清运车前往").status_code == 303
    [note] = _events(number, "note")
    assert (note.actor, note.reason) == ("dept:wang", "已派清运车前往")
    assert _post(client, wang, number, "info", text="请市民补充具体位置照片").status_code == 303
    clock = running(number)
    assert clock is not None and clock.paused_at is not None and "request_info" in (clock.pause_reason or "")
    page = client.get(f"/dept/cases/{number}")
    assert "等待市民补充材料" in page.text and f'action="/dept/cases/{number}/resume"' in page.text
    assert _post(client, wang, number, "resume", text="市民已补充照片").status_code == 303
    clock = running(number)
    assert clock is not None and clock.paused_at is None and clock.due_at is not None
    timeline = client.get(f"/dept/cases/{number}").text
    assert "已派清运车前往" in timeline and "材料已补充，恢复计时" in timeline


def test_another_departments_staff_get_not_found_by_page_and_by_every_post(client: TestClient) -> None:
    number = signed_case()
    make_user("zhao", "department", department_code=OTHER_DEPARTMENT)
    csrf = login(client, "zhao")
    assert client.get(f"/dept/cases/{number}").status_code == 404
    assert number not in client.get("/dept/").text
    for form in POSTS:
        r = _post(client, csrf, number, form, text="x", note="x", reason="x", reason_code="not_ours", working_days="1")
        assert r.status_code == 404, form
    assert _case(number).status == CaseStatus.IN_PROGRESS.value
    assert _events(number, "note") == []


def test_posts_without_the_csrf_token_are_refused(client: TestClient, wang: str) -> None:
    number = dispatched_case()
    for form in POSTS:
        r = client.post(f"/dept/cases/{number}/{form}", data={"text": "x"}, follow_redirects=False)
        assert r.status_code == 403 and "安全令牌" in r.text, form
    assert _case(number).status == CaseStatus.DISPATCHED.value


def test_agents_do_not_use_the_portal(client: TestClient) -> None:
    number = dispatched_case()
    make_user("li", "agent")
    csrf = login(client, "li")
    assert client.get("/dept/").status_code == 403
    assert _post(client, csrf, number, "sign").status_code == 403
    with session_scope() as s:
        assert s.exec(select(CaseEvent).where(col(CaseEvent.action) == "accept")).all() == []
