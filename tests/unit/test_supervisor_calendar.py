"""`/supervisor/calendar`: a supervisor sees the year (holidays red, make-up workdays marked), edits a
day with a required note and sees the change in the history; nobody else may open it."""

from __future__ import annotations

import re
from datetime import date

import pytest
from fastapi.testclient import TestClient

from cases.db import session_scope
from routing.calendar import load_calendar
from routing.models import CalendarDay
from tests.console_helpers import login, make_user


@pytest.fixture
def supervisor(client: TestClient) -> str:
    make_user("wang.ban", "supervisor", display_name="王班长")
    return login(client, "wang.ban")


def _cell(html: str, day: str) -> str:
    match = re.search(rf'<a class="day ([^"]*)"[^>]*data-day="{day}"', html, re.S)
    assert match, f"no cell for {day}"
    return match.group(1)


def test_the_year_with_holidays_and_make_up_workdays(client: TestClient, supervisor: str) -> None:
    page = client.get("/supervisor/calendar?year=2026")
    assert page.status_code == 200
    html = page.text
    assert "工作日历 · 2026年" in html and 'aria-current="page"' in html and "工作日历</a>" in html
    assert '<strong id="working-days">248</strong>' in html
    assert "依据：国务院办公厅关于2026年部分节假日安排的通知（国办发明电〔2025〕7号）" in html
    assert "holiday" in _cell(html, "2026-10-01").split()
    assert "makeup" in _cell(html, "2026-10-10").split()  # Saturday 10 October works
    assert "off" in _cell(html, "2026-10-11").split()
    assert "work" in _cell(html, "2026-10-12").split()
    assert html.count('class="month"') == 12
    assert "国庆节调休上班" in html


def test_edit_a_day_and_see_it_in_the_history(client: TestClient, supervisor: str) -> None:
    editor = client.get("/supervisor/calendar/2026-10-10", headers={"HX-Request": "true"})
    assert editor.status_code == 200
    assert editor.text.lstrip().startswith('<section class="panel day-editor" id="day-editor">')  # the panel alone
    assert "2026年10月10日 周六" in editor.text and "国庆节调休上班" in editor.text
    r = client.post(
        "/supervisor/calendar/2026-10-10",
        data={"kind": "holiday", "name": "台风停工", "periods": "", "note": "台风红色预警", "csrf_token": supervisor},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"].startswith("/supervisor/calendar?year=2026&day=2026-10-10")
    page = client.get(r.headers["location"])
    assert "已保存" in page.text
    assert "holiday" in _cell(page.text, "2026-10-10").split() and "city" in _cell(page.text, "2026-10-10").split()
    history = page.text[page.text.index('id="calendar-history"') :]
    assert "工作日「国庆节调休上班」（国务院） → 休息日「台风停工」（本市）" in history
    assert "supervisor:wang.ban" in history and "台风红色预警" in history
    assert "<summary>39 天</summary>" in history and "新增 39 天" in history and "system:seed" in history  # the seed
    assert '<strong id="working-days">247</strong>' in page.text
    with session_scope() as s:
        row = s.get(CalendarDay, date(2026, 10, 10))
        assert row is not None and (row.kind, row.source, row.editor) == ("holiday", "city", "supervisor:wang.ban")
        assert not load_calendar(s).is_working_day(date(2026, 10, 10))


def test_a_half_day_then_back_to_usual(client: TestClient, supervisor: str) -> None:
    data = {
        "kind": "workday",
        "name": "跨年夜半天",
        "periods": "8:30-12:00",
        "note": "区政府通知",
        "csrf_token": supervisor,
    }
    assert client.post("/supervisor/calendar/2026-12-31", data=data, follow_redirects=False).status_code == 303
    page = client.get("/supervisor/calendar/2026-12-31")
    assert "short" in _cell(page.text, "2026-12-31").split() and "08:30-12:00（3.5 小时）" in page.text
    back = {"kind": "usual", "note": "取消", "csrf_token": supervisor}
    assert client.post("/supervisor/calendar/2026-12-31", data=back, follow_redirects=False).status_code == 303
    with session_scope() as s:
        assert s.get(CalendarDay, date(2026, 12, 31)) is None


@pytest.mark.parametrize(
    ("data", "said"),
    [
        ({"kind": "holiday", "name": "台风停工", "note": ""}, "请填写修改原因"),
        ({"kind": "holiday", "name": "台风停工", "periods": "08:30-12:00", "note": "预警"}, "台风停工"),
        ({"kind": "workday", "name": "半天", "periods": "上午", "note": "预警"}, "应写作 08:30-12:00"),
        ({"kind": "weekend", "name": "台风停工", "note": "预警"}, "请选择：休息日、工作日或按常规作息"),
        ({"kind": "usual", "name": "", "note": "没有设置过"}, "这一天没有特别设置"),
        ({"kind": "holiday", "name": "长" * 51, "note": "预警"}, "名称不能超过 50 字"),
    ],
)
def test_a_refused_edit_keeps_what_was_typed(
    client: TestClient, supervisor: str, data: dict[str, str], said: str
) -> None:
    r = client.post("/supervisor/calendar/2026-07-15", data={**data, "csrf_token": supervisor})
    assert r.status_code == 422
    assert said in r.text
    if data["name"]:
        assert f'value="{data["name"]}"' in r.text  # what was typed is still in the form
    with session_scope() as s:
        assert s.get(CalendarDay, date(2026, 7, 15)) is None


def test_a_day_that_is_not_a_date(client: TestClient, supervisor: str) -> None:
    assert client.get("/supervisor/calendar/2026-02-30").status_code == 404
    assert client.get("/supervisor/calendar?year=abc").status_code == 200  # the city's current year


@pytest.mark.parametrize("role", ["agent", "department", "grid_worker", "admin"])
def test_only_supervisors(client: TestClient, role: str) -> None:
    make_user(f"u.{role}", role)
    csrf = login(client, f"u.{role}")
    assert client.get("/supervisor/calendar").status_code == 403
    r = client.post("/supervisor/calendar/2026-10-10", data={"kind": "holiday", "note": "x", "csrf_token": csrf})
    assert r.status_code == 403
    assert "工作日历" not in client.get("/account").text  # no link in their navigation
    with session_scope() as s:
        row = s.get(CalendarDay, date(2026, 10, 10))
        assert row is not None and row.kind == "workday"
