"""The agents' queue: each source with its fields, filters and sorts done in the query, claims that expire
and that only one of two racing agents wins, and the page (escaping, claims shown, items opened)."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from agent_ui.workbench import claims
from cases.db import session_scope
from cases.lifecycle import Action
from cases.models import Case, Report, utcnow
from cases.service import apply_action, open_case, record_event
from cases.states import ReportState
from intake.telephony.followups import SMS_FOLLOWUPS
from intake.telephony.models import SmsMessage
from routing.review import dispatch_case
from routing.work_queue import Age, Due, QueueFilter, QueueKind, Sort, work_queue
from tests.console_helpers import login, make_user
from tests.queue_fixtures import failed_report as _failed
from tests.queue_fixtures import held_case as _held

OTHER_STREET_GRID = "421102002001001"  # 东湖街道 遗爱湖社区


def _queue(s: Session, **kw: Any) -> list[Any]:
    return work_queue(s, QueueFilter(**kw), utcnow(), SMS_FOLLOWUPS).items


def test_each_source_appears_with_its_fields(env: Any) -> None:
    with session_scope() as s:
        held = _held(s, "东门菜市场门口垃圾满溢", reason="no grid; classifier confidence below the threshold")
        cam = _held(
            s,
            "摄像头告警：暴露垃圾",
            channel="camera",
            hints={"needs_review": True},
            reason="channel asks for an agent's confirmation",
        )
        vm = _held(
            s,
            "语音留言（待转写）",
            channel="voice",
            hints={"voicemail": True},
            raw={"recording_duration": "35"},
            reason="channel asks for an agent's confirmation",
        )
        failed = _failed(s, "路灯不亮")
        stuck = _failed(s, "井盖丢了", status=ReportState.PENDING)
        fresh = _failed(s, "刚收到的", status=ReportState.PENDING, ago=timedelta(seconds=5))
        bare = open_case(s, actor="agent:li", title="手工登记的工单")  # held, but no report
        apply_action(s, bare, Action.REGISTER, "agent:li")
        bare.needs_review = True
        s.flush()
        items = {i.key: i for i in _queue(s)}
    h = items[f"case:{held.id}"]
    assert (h.kind, h.channel, h.case_number, h.category_code) == (QueueKind.HELD, "web", held.number, "06010")
    assert h.reason == "未定位网格；分类置信度低"
    assert h.confidence == pytest.approx(0.4)
    assert h.grid_name == "东门社区第1网格" and h.street == "赤壁街道" and h.community == "东门社区"
    assert h.deadline is not None and h.due in (Due.OK, Due.WARN, Due.BAD)
    assert items[f"case:{cam.id}"].kind == QueueKind.CAMERA and items[f"case:{cam.id}"].channel == "camera"
    v = items[f"case:{vm.id}"]
    assert v.kind == QueueKind.VOICEMAIL and v.channel == "voicemail" and v.reason.startswith("录音 35 秒（待转写）")
    f = items[f"report:{failed.id}"]
    assert (f.kind, f.case_number, f.due) == (QueueKind.FAILED, None, Due.BAD)
    assert "model down" in f.reason
    assert items[f"report:{stuck.id}"].kind == QueueKind.FAILED and "卡住" in items[f"report:{stuck.id}"].reason
    assert f"report:{fresh.id}" not in items  # the sweeper still has it
    b = items[f"case:{bare.id}"]
    assert (b.kind, b.channel, b.title, b.reason) == (QueueKind.HELD, "", "手工登记的工单", "待坐席确认")


def test_sms_followups_wait_until_a_person_acts(env: Any) -> None:
    with session_scope() as s:
        case = _held(s, "小区门口占道经营", channel="sms")
        dispatch_case_for_test(s, case)
        report = s.exec(select(Report).where(Report.case_id == case.id)).one()
        s.add(
            SmsMessage(
                message_sid="SM1",
                phone="+8613800138000",
                body="补充：<b>早上七点</b>最严重",
                kind="append",
                report_id=report.id,
                reply="已补充",
                received_at=utcnow() + timedelta(seconds=1),
            )
        )
        s.flush()
        items = [i for i in _queue(s) if i.kind == QueueKind.SMS]
        assert [(i.key, i.title, i.case_number) for i in items] == [
            (f"case:{case.id}", "补充：<b>早上七点</b>最严重", case.number)
        ]
        ev = record_event(s, case, Action.NOTE, "agent:li", reason="已电话联系")
        ev.at = utcnow() + timedelta(seconds=2)
        s.flush()
        assert not [i for i in _queue(s) if i.kind == QueueKind.SMS]


def dispatch_case_for_test(s: Session, case: Case) -> None:
    case.needs_review = False
    dispatch_case(s, case, "system:pipeline")


def test_a_dispatched_case_leaves_the_queue(env: Any) -> None:
    with session_scope() as s:
        case = _held(s, "道路积水")
        assert f"case:{case.id}" in {i.key for i in _queue(s)}
        dispatch_case_for_test(s, case)
        s.flush()
        assert f"case:{case.id}" not in {i.key for i in _queue(s)}


def test_filters_and_sorts(env: Any) -> None:
    with session_scope() as s:
        old = _held(s, "旧的", confidence=0.7, ago=timedelta(days=2))
        new = _held(s, "新的", confidence=0.2, ago=timedelta(minutes=5), grid=OTHER_STREET_GRID, category="01001")
        cam = _held(s, "摄像头", channel="camera", confidence=0.5, ago=timedelta(hours=3))
        failed = _failed(s, "失败的")
        keys = lambda **kw: [i.key for i in _queue(s, **kw)]  # noqa: E731
        k_old, k_new, k_cam, k_f = (f"case:{old.id}", f"case:{new.id}", f"case:{cam.id}", f"report:{failed.id}")
        assert keys() == [k_old, k_cam, k_f, k_new]  # oldest first
        assert keys(sort=Sort.CONFIDENCE)[:3] == [k_f, k_new, k_cam]  # unknown, then lowest
        assert keys(channel="camera") == [k_cam]
        assert keys(kind=QueueKind.FAILED) == [k_f]
        assert keys(major_code="01") == [k_new]  # 市政公用设施类
        assert keys(street_code="421102002") == [k_new]
        assert keys(community_code="421102001001") == [k_old, k_cam]
        assert keys(age=Age.HOUR) == [k_new]
        assert keys(age=Age.OLDER) == [k_old]
        assert keys(limit=2) == [k_old, k_cam]
        counts = work_queue(s, QueueFilter(), utcnow(), SMS_FOLLOWUPS).counts
        assert counts[QueueKind.HELD] == 2 and counts[QueueKind.CAMERA] == 1 and counts[QueueKind.FAILED] == 1
        # The counts follow the filters, kind by kind, like the rows.
        only_cameras = work_queue(s, QueueFilter(channel="camera"), utcnow(), SMS_FOLLOWUPS).counts
        assert only_cameras[QueueKind.CAMERA] == 1 and only_cameras[QueueKind.HELD] == 0
        held_only = work_queue(s, QueueFilter(kind=QueueKind.HELD), utcnow(), SMS_FOLLOWUPS).counts
        assert held_only[QueueKind.HELD] == 2 and held_only[QueueKind.CAMERA] == 0
        assert held_only[QueueKind.FAILED] == 0
        recent = work_queue(s, QueueFilter(age=Age.HOUR), utcnow(), SMS_FOLLOWUPS).counts
        assert recent[QueueKind.HELD] == 1 and recent[QueueKind.CAMERA] == 0


# --- claims ---------------------------------------------------------------------------------------


def test_claims_second_agent_sees_the_first_then_expiry_frees_it(env: Any) -> None:
    li = make_user("li", "agent", display_name="李晓")
    wang = make_user("wang", "agent", display_name="王芳")
    now = utcnow()
    with session_scope() as s:
        first = claims.claim(s, "case:7", li, now, seconds=300)
        assert first.is_mine(li)
        seen = claims.claim(s, "case:7", wang, now + timedelta(seconds=10), seconds=300)
        assert (seen.user_id, seen.display_name) == (li.id, "李晓")
        renewed = claims.renew(s, "case:7", li, now + timedelta(seconds=60))
        assert renewed.claimed_at == first.claimed_at and renewed.expires_at > first.expires_at
        later = now + timedelta(seconds=1000)
        taken = claims.claim(s, "case:7", wang, later, seconds=300)
        assert taken.is_mine(wang) and taken.claimed_at == later
        assert claims.release(s, "case:7", li) is False  # not li's any more
        assert claims.release(s, "case:7", wang) is True
        assert claims.live_claims(s, ["case:7"], later) == {}


def test_racing_claims_give_one_winner(env: Any) -> None:
    agents = [make_user(f"a{i}", "agent") for i in range(4)]
    now = utcnow()
    won: list[int] = []
    barrier = threading.Barrier(len(agents))

    def race(user: Any) -> None:
        barrier.wait()
        with session_scope() as s:
            won.append(claims.claim(s, "report:9", user, now).user_id)

    threads = [threading.Thread(target=race, args=(u,)) for u in agents]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(won)) == 1 and len(won) == 4


# --- the page -------------------------------------------------------------------------------------


def test_page_shows_items_escaped_with_claims(client: TestClient) -> None:
    make_user("li", "agent", display_name="李晓")
    wang = make_user("wang", "agent", display_name="王芳")
    with session_scope() as s:
        case = _held(s, "<script>alert(1)</script>垃圾")
        failed = _failed(s, "<img src=x onerror=alert(1)>")
        claims.claim(s, f"case:{case.id}", wang, utcnow())
    login(client, "li")
    page = client.get("/console/")
    assert page.status_code == 200
    assert "<script>alert(1)</script>" not in page.text and "&lt;script&gt;alert(1)&lt;/script&gt;垃圾" in page.text
    assert "<img src=x" not in page.text
    assert "王芳 正在处理" in page.text
    assert f'data-item="report:{failed.id}"' in page.text and "due-bad" in page.text
    rows = client.get("/console/?channel=sms", headers={"HX-Request": "true"})
    assert rows.status_code == 200 and "<html" not in rows.text
    assert f"report:{failed.id}" in rows.text and f"case:{case.id}" not in rows.text
    bad = client.get("/console/?street=abc")
    assert bad.status_code == 200 and "筛选条件无效" in bad.text


def test_empty_queue_says_so(client: TestClient) -> None:
    make_user("li", "agent")
    login(client, "li")
    assert "暂无待办事项" in client.get("/console/").text
    assert "没有符合筛选条件" in client.get("/console/?channel=camera").text


def test_opening_claims_and_the_claim_routes(client: TestClient) -> None:
    make_user("li", "agent", display_name="李晓")
    make_user("wang", "agent", display_name="王芳")
    with session_scope() as s:
        case = _held(s, "井盖破损")
        failed = _failed(s, "路灯坏了")
        number, key, rkey = case.number, f"case:{case.id}", f"report:{failed.id}"
    csrf = login(client, "li")
    r = client.get(f"/console/items/{key}", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/console/cases/{number}"
    detail = client.get(f"/console/items/{rkey}")
    assert detail.status_code == 200 and "路灯坏了" in detail.text and "重新处理" in detail.text
    client.cookies.clear()
    csrf2 = login(client, "wang")
    taken = client.post(f"/console/claims/{key}", headers={"X-CSRF-Token": csrf2})
    assert taken.status_code == 409 and "李晓 正在处理" in taken.text
    look = client.get(f"/console/items/{key}", follow_redirects=False)
    assert look.status_code == 200 and "李晓 正在处理此事项" in look.text
    assert client.post("/console/claims/case:999999", headers={"X-CSRF-Token": csrf2}).status_code == 404
    assert client.post("/console/claims/nonsense", headers={"X-CSRF-Token": csrf2}).status_code == 404
    client.cookies.clear()
    csrf = login(client, "li")
    mine = client.post(f"/console/claims/{key}", headers={"X-CSRF-Token": csrf})
    assert mine.status_code == 200 and "我正在处理" in mine.text and mine.headers["X-Claim-Expires"]
    assert client.post(f"/console/claims/{key}/release", headers={"X-CSRF-Token": csrf}).status_code == 204
    with session_scope() as s:
        assert claims.live_claims(s, [key], utcnow()) == {}


def test_retry_a_failed_report(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    make_user("li", "agent")
    with session_scope() as s:
        failed = _failed(s, "东门路路灯不亮")
        key, rid = f"report:{failed.id}", failed.id
    csrf = login(client, "li")
    r = client.post(f"/console/items/{key}/retry", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303
    with session_scope() as s:
        report = s.get(Report, rid)
        assert report is not None and report.case_id is not None  # the sync queue ran the pipeline
    again = client.post(f"/console/items/{key}/retry", data={"csrf_token": csrf}, follow_redirects=False)
    assert again.status_code == 409


def test_department_staff_may_not_see_the_queue(client: TestClient) -> None:
    make_user("dept", "department")
    login(client, "dept")
    assert client.get("/console/").status_code == 403


def test_returned_cases_are_their_own_kind_with_the_reason(env: Any) -> None:
    from tests.dept_fixtures import returned_case

    once, twice = returned_case(1), returned_case(2)
    with session_scope() as s:
        held = _held(s, "东门菜市场门口垃圾满溢")
        q = work_queue(s, QueueFilter(), utcnow(), SMS_FOLLOWUPS)
        only = work_queue(s, QueueFilter(kind=QueueKind.RETURNED), utcnow(), SMS_FOLLOWUPS)
    items = {i.case_number: i for i in q.items}
    assert items[once].kind == QueueKind.RETURNED and items[twice].kind == QueueKind.RETURNED
    assert items[once].reason == "退单原因：非本单位职责：第1次：该处属市政管养范围"
    assert items[once].deadline is not None  # dispatch again within the policy's 签收 time
    assert items[twice].reason.startswith("第 2 次退单，待班长审定") and items[twice].deadline is None
    assert q.counts[QueueKind.RETURNED] == 2 and q.counts[QueueKind.HELD] == 1
    assert {i.case_number for i in only.items} == {once, twice} and held.number in items
    assert only.counts[QueueKind.HELD] == 0 and only.counts[QueueKind.RETURNED] == 2
