"""/grid/: the grid worker's phone pages. Tasks and open cases of their own grids only (another grid's case
is a 404, by list and by number), 核实 with a photo, 核查, and 上报 from patrol through the one intake door:
one report per form however often it is sent, registered and dispatched on the grid worker's word."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import col, select

from cases.db import session_scope
from cases.lifecycle import CaseStatus
from cases.models import Case, CaseEvent, Report
from cases.service import get_case_by_number, open_case
from cases.states import Channel, EventKind
from intake.models import Attachment
from tests.console_helpers import GRID, PASSWORD, login, login_form_token, make_user
from tests.grid_helpers import FAR_GRID, handled_case, photo
from tests.rules_helpers import checking, publish

KEY = re.compile(r'name="key" value="([0-9a-f]{32})"')
TEXT = "东门路口垃圾桶满溢，垃圾散落在人行道上"


@pytest.fixture
def csrf(client: TestClient) -> str:
    make_user("zhou", "grid_worker", display_name="周网格", grids=[GRID])
    return login(client, "zhou")


def _case(number: str) -> Case:
    with session_scope() as s:
        case = get_case_by_number(s, number)
        assert case is not None
        s.expunge(case)
        return case


def _events(number: str) -> list[CaseEvent]:
    with session_scope() as s:
        case = get_case_by_number(s, number)
        assert case is not None
        rows = list(s.exec(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(col(CaseEvent.id))).all())
        for r in rows:
            s.expunge(r)
        return rows


def _photos(n: int = 1) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("photos", (f"p{i}.jpg", photo((40 * i, 120, 80)), "image/jpeg")) for i in range(n)]


def _post(client: TestClient, path: str, csrf: str, files: Any = None, **fields: str) -> Any:
    return client.post(path, data={"csrf_token": csrf, **fields}, files=files or [], follow_redirects=False)


# --- signing in, lists, scoping -------------------------------------------------------------------------


def test_a_grid_worker_signs_in_to_the_grid_page(client: TestClient) -> None:
    make_user("zhou", "grid_worker", grids=[GRID])
    token = login_form_token(client)
    r = client.post(
        "/login", data={"username": "zhou", "password": PASSWORD, "csrf_token": token}, follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"] == "/grid/"
    page = client.get("/grid/")
    assert page.status_code == 200 and "巡查上报问题" in page.text and "东门社区第1网格" in page.text
    assert 'name="viewport" content="width=device-width' in page.text and "/static/console/grid.css" in page.text


def test_tasks_are_those_of_their_grids_only(client: TestClient, csrf: str) -> None:
    mine, theirs = handled_case(), handled_case(grid=FAR_GRID, title="四合社区的垃圾", place="四合路")
    with session_scope() as s:  # an open case of the grid that is nobody's task yet
        open_case(s, actor="system:test", title="刚上报的问题", category_code="06010", grid_code=GRID)
    page = client.get("/grid/").text
    assert mine in page and f'href="/grid/cases/{mine}"' in page and "待核实" in page and "东门菜市场北门" in page
    assert "核实期限" in page  # the verify clock's deadline (routing.clocks, wired by the app)
    assert theirs not in page and "四合" not in page
    listing = client.get("/grid/cases").text
    assert mine in listing and theirs not in listing and "已上报" in listing
    assert client.get(f"/grid/cases/{mine}").status_code == 200
    other = client.get(f"/grid/cases/{theirs}")
    assert other.status_code == 404 and "四合社区的垃圾" not in other.text
    r = _post(client, f"/grid/cases/{theirs}/verify", csrf, _photos(), result="pass")
    assert r.status_code == 404 and _case(theirs).status == CaseStatus.HANDLED
    assert client.get("/grid/cases/12319-00000000-000000").status_code == 404


def test_other_roles_are_refused_and_the_anonymous_sent_to_sign_in(client: TestClient) -> None:
    make_user("wang", "department")
    login(client, "wang")
    assert client.get("/grid/").status_code == 403
    client.cookies.clear()
    r = client.get("/grid/report", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=/grid/report")


# --- 核实 -----------------------------------------------------------------------------------------------------


def test_verify_with_a_photo(client: TestClient, csrf: str) -> None:
    number = handled_case()
    page = client.get(f"/grid/cases/{number}").text
    assert "承办单位反馈" in page and "已清运并冲洗地面" in page and 'capture="environment"' in page
    assert f'action="/grid/cases/{number}/verify"' in page and 'enctype="multipart/form-data"' in page
    r = _post(client, f"/grid/cases/{number}/verify", csrf, _photos(2), result="pass", note="已清理干净")
    assert r.status_code == 303 and r.headers["location"] == f"/grid/?done=verified&n={number}"
    assert _case(number).status == CaseStatus.VERIFIED
    last = _events(number)[-1]
    assert (last.action, last.actor, last.reason) == ("verify", "grid:zhou", "已清理干净")
    with session_scope() as s:
        stored = s.exec(select(Attachment).where(col(Attachment.id).in_(last.data["photos"]))).all()
        assert len(stored) == 2 and {a.channel for a in stored} == {Channel.GRID}
    home = client.get(r.headers["location"]).text
    assert "已核实通过" in home and number in home


def test_a_refused_verification_keeps_the_note_and_stores_nothing(client: TestClient, csrf: str) -> None:
    number = handled_case()
    r = _post(client, f"/grid/cases/{number}/verify", csrf, result="pass", note="我写的说明")
    assert r.status_code == 422 and "至少一张现场照片" in r.text and "我写的说明" in r.text
    r = _post(client, f"/grid/cases/{number}/verify", csrf, _photos(), result="fail", note="")
    assert r.status_code == 422 and "不通过的原因" in r.text and "照片需要重新拍摄" in r.text
    r = _post(client, f"/grid/cases/{number}/verify", csrf, note="没选结果")
    assert r.status_code == 422 and "请选择核实结果" in r.text and "没选结果" in r.text
    bad = [("photos", ("x.jpg", b"not an image", "image/jpeg"))]
    r = _post(client, f"/grid/cases/{number}/verify", csrf, bad, result="pass")
    assert r.status_code == 422 and "第 1 张照片" in r.text
    assert _case(number).status == CaseStatus.HANDLED and _events(number)[-1].action == "handle"
    with session_scope() as s:
        assert s.exec(select(Attachment)).all() == []  # the refused attempt's photo was not kept


def test_verify_fail_goes_back_to_the_department(client: TestClient, csrf: str) -> None:
    number = handled_case()
    r = _post(client, f"/grid/cases/{number}/verify", csrf, result="fail", note="路面还有垃圾")
    assert r.status_code == 303 and "verify_failed" in r.headers["location"]
    assert _case(number).status == CaseStatus.IN_PROGRESS
    again = _post(client, f"/grid/cases/{number}/verify", csrf, _photos(), result="pass")  # a stale page
    assert again.status_code == 422 and "已不在待核实状态" in again.text


def test_an_unsafe_post_without_the_csrf_token_is_refused(client: TestClient, csrf: str) -> None:
    number = handled_case()
    r = client.post(f"/grid/cases/{number}/verify", data={"result": "pass"}, files=_photos(), follow_redirects=False)
    assert r.status_code == 403 and "安全令牌" in r.text
    r = client.post("/grid/report", data={"description": TEXT}, files=_photos(), follow_redirects=False)
    assert r.status_code == 403
    assert _case(number).status == CaseStatus.HANDLED
    with session_scope() as s:
        assert s.exec(select(Report).where(Report.channel == Channel.GRID)).all() == []


# --- 核查 -----------------------------------------------------------------------------------------------------


def test_check_found_dispatches_and_shows_as_a_task_until_then(
    client: TestClient, csrf: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    publish(checking(), note="暴露垃圾先核查")
    with session_scope() as s:
        s.add(
            Report(
                channel="web",
                external_id="r1",
                text="东门菜市场门口垃圾没人清理",
                lat=30.403,
                lon=114.843,
                hints={"category_code": "06010"},
            )
        )
        s.add(
            Report(
                channel="web",
                external_id="r2",
                text="东门菜市场北门垃圾满了",
                lat=30.404,
                lon=114.842,
                hints={"category_code": "06042"},
            )
        )
    from routing.pipeline import process_report

    with session_scope() as s:
        ids = [r.id for r in s.exec(select(Report).order_by(col(Report.id))).all()]
    found, gone = (process_report(i) for i in ids)  # type: ignore[arg-type]
    assert found and gone
    home = client.get("/grid/").text
    assert found in home and gone in home and "待核查" in home
    page = client.get(f"/grid/cases/{found}").text
    assert "立案前现场核查" in page and f'action="/grid/cases/{found}/check"' in page
    r = _post(client, f"/grid/cases/{found}/check", csrf, _photos(), result="found")
    assert r.status_code == 303 and "done=checked" in r.headers["location"]
    case = _case(found)
    assert (case.status, case.department_code, case.needs_check) == (CaseStatus.DISPATCHED, "sanitation", False)
    r = _post(client, f"/grid/cases/{gone}/check", csrf, result="not_found")
    assert r.status_code == 422 and "不属实的原因" in r.text
    r = _post(client, f"/grid/cases/{gone}/check", csrf, result="not_found", note="现场未发现垃圾")
    assert r.status_code == 303 and _case(gone).status == CaseStatus.REJECTED
    assert found not in client.get("/grid/").text  # no longer a task


# --- 上报 from patrol -----------------------------------------------------------------------------------------


def _form_key(client: TestClient) -> str:
    page = client.get("/grid/report")
    assert page.status_code == 200
    m = KEY.search(page.text)
    assert m, page.text[:300]
    return m.group(1)


def _report(client: TestClient, csrf: str, key: str, files: Any = None, **fields: str) -> Any:
    data = {"key": key, "description": TEXT, "category_code": "06010", "grid_code": GRID}
    data |= {"lat": "30.403100", "lon": "114.843200", "accuracy": "12", "address": "东门路口"} | fields
    return _post(client, "/grid/report", csrf, files if files is not None else _photos(), **data)


def test_a_patrol_report_becomes_a_dispatched_case_with_no_agent(client: TestClient, csrf: str) -> None:
    key = _form_key(client)
    r = _report(client, csrf, key)
    assert r.status_code == 303 and r.headers["location"] == f"/grid/reports/{key}"
    with session_scope() as s:
        [report] = s.exec(select(Report).where(Report.channel == Channel.GRID)).all()
        assert report.external_id == f"grid-{key}" and report.phone is None
        assert (report.lat, report.lon, report.address) == (30.4031, 114.8432, "东门路口")
        assert report.hints == {"confirmed_by": "grid:zhou", "category_code": "06010", "grid_code": GRID}
        assert report.raw["accuracy_m"] == 12 and len(report.attachments) == 1
        case = s.get(Case, report.case_id)
        assert case is not None and case.status == CaseStatus.DISPATCHED and not case.needs_review
        assert (case.category_code, case.grid_code, case.department_code) == ("06010", GRID, "sanitation")
        number = case.number
    actions = [e.action for e in _events(number)]
    # The grid worker's category stands, whatever the model guessed (a correction when it guessed otherwise).
    assert actions[:3] == ["open", "classify", "register"] and actions[-1] == "dispatch"
    assert actions[3] in (EventKind.CONFIRM, EventKind.CORRECT) and len(actions) == 5
    landed = client.get(r.headers["location"]).text
    assert number in landed and "已派遣" in landed and "区环境卫生管理处" in landed and "hx-get" not in landed


def test_a_double_tap_makes_one_report_with_one_set_of_photos(client: TestClient, csrf: str) -> None:
    key = _form_key(client)
    first, again = _report(client, csrf, key), _report(client, csrf, key)
    assert first.status_code == again.status_code == 303
    assert first.headers["location"] == again.headers["location"]
    with session_scope() as s:
        assert len(s.exec(select(Report)).all()) == 1 and len(s.exec(select(Case)).all()) == 1
        assert len(s.exec(select(Attachment)).all()) == 1
    assert _form_key(client) != key  # every form shown gets its own key


@pytest.mark.parametrize(
    ("fields", "files", "message"),
    [
        ({"description": ""}, None, "请填写问题描述"),
        ({"category_code": ""}, None, "请选择问题类别"),
        ({"category_code": "99999"}, None, "类别或网格不存在"),
        ({"grid_code": FAR_GRID}, None, "请选择您负责的网格"),
        ({"lat": "", "lon": "", "address": ""}, None, "请定位当前位置"),
        ({"lat": "300", "lon": "114.8"}, None, "定位信息无效"),
        ({}, [], "请拍摄至少一张现场照片"),
        ({"key": "stale"}, None, "表单已失效"),
    ],
)
def test_a_refused_report_keeps_what_was_typed(
    client: TestClient, csrf: str, fields: dict[str, str], files: Any, message: str
) -> None:
    r = _report(client, csrf, fields.pop("key", None) or _form_key(client), files, **fields)
    assert r.status_code == 422 and message in r.text, r.text[:2000]
    if fields.get("description", TEXT):
        assert TEXT in r.text
    assert ("照片需要重新拍摄" in r.text) == (files is None)
    with session_scope() as s:
        assert s.exec(select(Report)).all() == [] and s.exec(select(Attachment)).all() == []


def test_the_address_alone_will_do_when_there_is_no_gps_fix(client: TestClient, csrf: str) -> None:
    r = _report(client, csrf, _form_key(client), lat="", lon="", accuracy="")
    assert r.status_code == 303
    with session_scope() as s:
        [report] = s.exec(select(Report)).all()
        assert (report.lat, report.address) == (None, "东门路口")


def test_the_common_list_puts_their_grids_most_reported_first(client: TestClient, csrf: str) -> None:
    with session_scope() as s:
        for _ in range(3):
            open_case(s, actor="system:test", title="井盖", category_code="01002", grid_code=GRID)
        for _ in range(5):
            open_case(s, actor="system:test", title="别处", category_code="01037", grid_code=FAR_GRID)
    page = client.get("/grid/report").text
    chips = re.findall(r'name="category_code" value="(\d+)"', page)
    assert chips[0] == "01002" and len(chips) == 8 and len(set(chips)) == 8
    assert "06010" in chips  # filled up with the city's common ones
    assert chips.index("01037") > 0  # a busy category of another grid is no reason to come first
    found = client.get("/grid/report/categories", params={"q": "井盖"}, headers={"HX-Request": "true"})
    assert found.status_code == 200 and "<html" not in found.text
    assert 'name="category_code" value="01002"' in found.text
    nothing = client.get("/grid/report/categories", params={"q": "火星"})
    assert "没有找到" in nothing.text


def test_a_submission_is_shown_to_its_grid_worker_only(client: TestClient, csrf: str) -> None:
    key = _form_key(client)
    _report(client, csrf, key)
    assert client.get(f"/grid/reports/{key}/status").status_code == 200
    make_user("wu", "grid_worker", grids=[GRID])
    client.cookies.clear()
    login(client, "wu")
    assert client.get(f"/grid/reports/{key}").status_code == 404
    assert client.get(f"/grid/reports/{'f' * 32}").status_code == 404
    assert client.get("/grid/reports/not-a-key").status_code == 404


JUNK = ["", "0", "-1", "99999999999999999999", "x" * 5000, "<script>alert(1)</script>", "１２３", "😀", "null", "nan"]


def test_junk_in_every_field_is_a_4xx_never_a_5xx(client: TestClient, csrf: str) -> None:
    number = handled_case()
    forms = {
        "/grid/report": (
            "key",
            "description",
            "category_code",
            "category_other",
            "grid_code",
            "lat",
            "lon",
            "accuracy",
            "address",
        ),
        f"/grid/cases/{number}/verify": ("result", "note"),
        f"/grid/cases/{number}/check": ("result", "note"),
    }
    for path, fields in forms.items():
        for junk in JUNK:
            r = _post(client, path, csrf, **dict.fromkeys(fields, junk))
            assert 400 <= r.status_code < 500, (path, junk[:20], r.status_code)
            assert "<script>alert(1)</script>" not in r.text
    assert client.get("/grid/report/categories", params={"q": "x" * 5000}).status_code == 200
    assert _case(number).status == CaseStatus.HANDLED
