"""Signing in through the real form in Chromium: a wrong password is refused with a Chinese message, a form
whose CSRF token was removed is refused, and an administrator creates an account on /admin/users."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.console import desk_browser, live_db, shot, sign_in
from tests.conftest import LiveServer
from tests.console_helpers import PASSWORD, make_user

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_sign_in_wrong_password_then_right(live_server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> None:
    with live_db(live_server, monkeypatch):
        make_user("li", "agent", display_name="李晓")
    with desk_browser() as context:
        page = context.new_page()
        page.goto(f"{live_server.base}/account")
        assert "/login" in page.url  # anonymous: sent to sign in, and back afterwards
        page.fill("input[name=username]", "li")
        page.fill("input[name=password]", "wrong-password")
        page.click("button[type=submit]")
        expect(page.locator(".flash.error")).to_have_text("用户名或密码错误")
        expect(page.locator("input[name=username]")).to_have_value("li")  # what was typed is kept
        shot(page, "login.png")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_server.base}/account")  # back where the agent was going
        expect(page.locator(".whoami")).to_contain_text("李晓")
        shot(page, "account.png")


def test_a_form_without_its_csrf_token_is_refused(live_server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> None:
    with live_db(live_server, monkeypatch):
        make_user("li", "agent", display_name="李晓")
    with desk_browser() as context:
        page = context.new_page()
        page.goto(f"{live_server.base}/login")
        page.locator("input[name=csrf_token]").evaluate("el => el.remove()")  # what a forged form lacks
        page.fill("input[name=username]", "li")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        expect(page.locator(".flash.error")).to_have_text("页面已过期，请重新登录")
        sign_in(page, live_server.base, "li", PASSWORD)
        page.goto(f"{live_server.base}/account")
        page.locator("form[action='/logout'] input[name=csrf_token]").evaluate("el => el.remove()")
        page.locator("form[action='/logout'] button").click()
        expect(page.locator("h1")).to_have_text("请求已失效")
        page.goto(f"{live_server.base}/account")  # still signed in: the forged sign-out did nothing
        expect(page.locator(".whoami")).to_contain_text("李晓")


def test_admin_creates_an_account(live_server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> None:
    with live_db(live_server, monkeypatch):
        make_user("root", "admin", display_name="系统管理员")
        make_user("li", "agent", display_name="李晓", phone="13800138000")
        make_user("wang", "department", display_name="王工")
    with desk_browser() as context:
        page = context.new_page()
        sign_in(page, live_server.base, "root", PASSWORD)
        assert page.url.endswith("/admin/users")
        page.fill("#new-user input[name=username]", "zhao")
        page.fill("#new-user input[name=display_name]", "赵网格")
        page.select_option("#new-user select[name=role]", "grid_worker")
        page.fill("#new-user input[name=password]", PASSWORD)
        page.click("#new-user button[type=submit]")
        expect(page.locator(".flash.error")).to_contain_text("网格")  # a grid worker needs grids
        expect(page.locator("#new-user input[name=display_name]")).to_have_value("赵网格")
        page.fill("#new-user input[name=grids]", "421102001001001 421102001001002")
        page.fill("#new-user input[name=password]", PASSWORD)
        page.click("#new-user button[type=submit]")
        expect(page.locator(".flash.ok")).to_have_text("用户已创建")
        page.goto(f"{live_server.base}/admin/users")
        expect(page.locator("#users")).to_contain_text("赵网格")
        expect(page.locator("#users")).to_contain_text("138****8000")
        shot(page, "admin-users.png")
