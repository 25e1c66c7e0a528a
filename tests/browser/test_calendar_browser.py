"""The working calendar in Chromium: a supervisor opens 2026, clicks the make-up Saturday 10 October (its
editor loads in place), makes it a day off with a note, and sees it red in the months and in the history;
a screenshot of the page."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.console import desk_browser, live_db, shot, sign_in
from tests.conftest import LiveServer
from tests.console_helpers import PASSWORD, make_user

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_supervisor_edits_a_day_of_the_calendar(live_server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> None:
    with live_db(live_server, monkeypatch):
        make_user("wang.ban", "supervisor", display_name="王班长")
    with desk_browser() as context:
        page = context.new_page()
        sign_in(page, live_server.base, "wang.ban", PASSWORD)
        page.click("nav.mainnav >> text=工作日历")
        page.goto(f"{live_server.base}/supervisor/calendar?year=2026")
        saturday = page.locator('a.day[data-day="2026-10-10"]')
        expect(saturday).to_have_class("day makeup")
        saturday.click()  # htmx: the editor panel only
        editor = page.locator("#day-editor")
        expect(editor).to_contain_text("2026年10月10日 周六")
        expect(editor).to_contain_text("国庆节调休上班")
        assert page.url.endswith("/supervisor/calendar?year=2026")  # no page load
        editor.locator('input[name=kind][value="holiday"]').check()
        editor.locator("input[name=name]").fill("台风停工")
        editor.locator("textarea[name=note]").fill("台风红色预警，全市停工")
        editor.locator("button[type=submit]").click()
        page.wait_for_load_state("networkidle")
        expect(page.locator(".flash.ok")).to_contain_text("已保存")
        expect(page.locator('a.day[data-day="2026-10-10"]')).to_have_class("day holiday city selected")
        expect(page.locator("#working-days")).to_have_text("247")
        expect(page.locator("#calendar-history")).to_contain_text("台风红色预警，全市停工")
        expect(page.locator("#calendar-history")).to_contain_text("supervisor:wang.ban")
        shot(page, "supervisor-calendar.png")
