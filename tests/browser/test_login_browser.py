"""An agent signs in through the real form in Chromium; a wrong password is refused with a Chinese message."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.console import desk_browser, live_db, shot
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
