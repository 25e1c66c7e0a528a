"""The ladder's pages in Chromium at 1366×768: an admin adds a department's contact and webhook (the secret
shown once), sees a failed notice and retries it; a supervisor sees the ladder's red and yellow cards and
opens a case from the 督办 list. Screenshots: admin-departments.png, admin-notices.png,
supervisor-supervision.png."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from cases.db import session_scope
from routing.escalation_sweep import escalate
from routing.models import DepartmentNotice
from tests.browser.console import desk_browser, live_db, shot, sign_in
from tests.conftest import LiveServer
from tests.console_helpers import DEPARTMENT, PASSWORD, make_user
from tests.escalation_fixtures import at, case_row, case_with_clock

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def no_sweeps(monkeypatch: pytest.MonkeyPatch) -> None:
    """The live server's sweeper runs the ladder at the real time; these tests run it at their own."""
    monkeypatch.setenv("HOTLINE_SWEEP_INTERVAL_SECONDS", "3600")


def test_admin_maintains_contacts_and_webhook(
    no_sweeps: None, live_server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    with live_db(live_server, monkeypatch):
        make_user("root", "admin", display_name="系统管理员")
        with session_scope() as s:
            case_id, _ = case_with_clock(s, at("2026-11-02", "09:00"))
            s.add(
                DepartmentNotice(
                    key="step:1:webhook", department_code=DEPARTMENT, case_id=case_id, channel="webhook",
                    target="https://dept.example.gov.cn/hotline", event="urge", state="failed", attempts=4,
                    last_error="接口返回 HTTP 503",
                )
            )  # fmt: skip
    with desk_browser() as context:
        page = context.new_page()
        sign_in(page, live_server.base, "root", PASSWORD)
        page.click("nav >> text=单位联络")
        page.click(f"a[href='/admin/departments/{DEPARTMENT}']")
        page.fill("#new-contact input[name=name]", "值班员小王")
        page.fill("#new-contact input[name=phone]", "0713-8000101")
        page.click("#new-contact button[type=submit]")
        expect(page.locator(".flash.error")).to_contain_text("手机号码")
        expect(page.locator("#new-contact input[name=name]")).to_have_value("值班员小王")
        page.fill("#new-contact input[name=phone]", "13900139001")
        page.click("#new-contact button[type=submit]")
        expect(page.locator(".flash.ok")).to_have_text("联系人已添加")
        page.select_option("#new-contact select[name=role]", "head")
        page.fill("#new-contact input[name=name]", "李科长")
        page.fill("#new-contact input[name=phone]", "13900139002")
        page.click("#new-contact button[type=submit]")
        expect(page.locator("#contacts")).to_contain_text("139****9002")
        row = page.locator("#contacts tr", has_text="值班员小王")
        row.locator("input[name=name]").fill("值班员小赵")
        row.locator("input[name=phone]").fill("13900139003")
        row.locator("button", has_text="保存").click()
        expect(page.locator(".flash.ok")).to_contain_text("联系人已修改")
        expect(page.locator("#contact-history")).to_contain_text("已替换或删除")
        page.fill("#webhook input[name=url]", "https://dept.example.gov.cn/hotline")
        page.click("#webhook button:has-text('保存')")
        expect(page.locator("#new-secret")).to_contain_text("whsec_")
        shot(page, "admin-departments.png")
        page.reload()
        expect(page.locator("#new-secret")).to_have_count(0)  # shown once

        page.click("nav >> text=通知失败")
        expect(page.locator("#notices")).to_contain_text("接口返回 HTTP 503")
        shot(page, "admin-notices.png")
        page.click("#notices button:has-text('重试')")
        expect(page.locator(".flash.ok")).to_have_text("已重新发送")


def test_supervisor_sees_the_cards(no_sweeps: None, live_server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> None:
    with live_db(live_server, monkeypatch):
        make_user("boss", "supervisor", display_name="张班长")
        with session_scope() as s:
            red, _ = case_with_clock(s, at("2026-11-02", "09:00"), title="东门菜市场门口垃圾满溢，三天没人清")
            case_with_clock(s, at("2026-11-03", "09:00"), title="人民路人行道井盖缺失")
            case_with_clock(s, at("2026-11-04", "11:00"), kind="handle", title="滨江公园路灯不亮")
            number = case_row(s, red).number
        escalate(at("2026-11-04", "14:30"))
    with desk_browser() as context:
        page = context.new_page()
        sign_in(page, live_server.base, "boss", PASSWORD)
        page.click("nav >> text=督办")
        expect(page.locator("#supervision tbody tr")).to_have_count(3)
        expect(page.locator("#supervision tbody tr").first).to_contain_text("红牌")
        shot(page, "supervisor-supervision.png")
        page.click("a:has-text('黄牌督办')")
        expect(page.locator("#supervision tbody tr")).to_have_count(1)
        page.click("a:has-text('全部')")
        page.click(f"a:has-text('{number}')")
        page.wait_for_url(f"{live_server.base}/console/cases/{number}")
