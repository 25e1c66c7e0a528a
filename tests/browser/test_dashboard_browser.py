"""The supervisors' 概览 in Chromium at 1440 px: three weeks of cases (refreshed into the aggregates), the
三率 per department with their definitions a click away, the grid map with each grid's count as its
title, a period switch, an export downloaded and read back. Screenshot: supervisor-dashboard.png."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from cases.db import session_scope
from cases.models import utcnow
from hotline.wiring import wire_observers
from routing.dashboard.refresh import refresh
from tests.browser.console import desk_browser, live_db, shot, sign_in
from tests.conftest import LiveServer
from tests.console_helpers import PASSWORD, make_user
from tests.dashboard_fixtures import make_history

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_supervisor_reads_the_dashboard(live_server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> None:
    with live_db(live_server, monkeypatch):
        wire_observers()  # the moves below start and stop SLA clocks, as in the app
        make_user("zhang", "supervisor", display_name="张班长")
        with session_scope() as s:
            make_history(s, cases=160, days=21, start=utcnow() - timedelta(days=21))
        with session_scope() as s:
            refresh(s, grace_seconds=0)
    with desk_browser() as context:
        page = context.new_page()
        page.set_viewport_size({"width": 1440, "height": 900})
        sign_in(page, live_server.base, "zhang", PASSWORD)
        page.click("nav >> text=概览")
        expect(page.locator("h1")).to_contain_text("概览")
        expect(page.locator("#rates-departments tbody tr").first).to_be_visible()
        assert page.locator("#rates-departments tr.total").count() == 1
        page.locator("#kpi-sign details summary").click()
        expect(page.locator("#kpi-sign details")).to_contain_text("分母")
        cell = page.locator("svg.gridmap path.grid-cell").first
        assert "件" in (cell.locator("title").text_content() or "")
        assert page.locator("svg.gridmap path.grid-cell").count() >= 20
        assert page.locator("#intake-channel tbody tr").count() >= 3
        with page.expect_download() as dl:
            page.click("#rates-departments >> xpath=preceding::a[text()='CSV'][1]")
        text = (dl.value.path().read_bytes()).decode("utf-8-sig")
        rows = list(csv.reader(io.StringIO(text)))
        assert rows[0][:3] == ["承办单位", "代码", "派遣"] and len(rows) >= 3
        shot(page, "supervisor-dashboard.png")
        page.click("nav[aria-label=统计周期] >> text=近7天")
        expect(page.locator("nav[aria-label=统计周期] a[aria-current=page]")).to_have_text("近7天")
