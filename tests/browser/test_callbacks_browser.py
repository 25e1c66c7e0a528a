"""回访 in Chromium: an agent opens the worklist, reads the script to the resident and records a satisfied
callback (the case closes), then an unsatisfied one (the case reopens); a screenshot of the worklist."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from cases.db import session_scope
from cases.service import get_case_by_number
from routing.callback_actions import record_attempt
from routing.models import CallbackHow, CallbackOutcome
from tests.browser.console import desk_browser, live_db, shot, sign_in
from tests.callback_cases import verified_case
from tests.conftest import LiveServer
from tests.console_helpers import PASSWORD, make_user

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _status(number: str) -> str:
    with session_scope() as s:
        case = get_case_by_number(s, number)
        assert case is not None
        return case.status


def test_agent_records_a_satisfied_and_an_unsatisfied_callback(
    live_server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    day = datetime.now(UTC).replace(hour=1, minute=30, second=0, microsecond=0) - timedelta(days=1)
    with live_db(live_server, monkeypatch):
        make_user("li", "agent", display_name="李晓", phone="+8613500001111")
        satisfied = verified_case("东门菜市场门口垃圾堆了三天没人清", at=day)
        unsatisfied = verified_case(
            "胜利街雨水箅子堵了，下雨就积水",
            phone="+8613800138003",
            at=day + timedelta(hours=1),
            category="01004",
            department="municipal",
            grid="421102001002002",
        )
        tried = verified_case(
            "青砖湖路污水井盖松动", phone="+8613800138004", at=day + timedelta(hours=2), category="01002"
        )
        verified_case(
            "考棚街有人占道摆摊",
            phone=None,
            at=day + timedelta(hours=3),
            grid="421102001001002",
            category="09006",
            department="enforcement",
        )
        verified_case("黄州古城附近垃圾桶满溢", phone="+8613800138005", at=day + timedelta(hours=4))
        with session_scope() as s:
            case = get_case_by_number(s, tried)
            assert case is not None
            record_attempt(s, case, CallbackOutcome.NO_ANSWER, actor="agent:wang", how=CallbackHow.DESK_PHONE)
    with desk_browser() as context:
        page = context.new_page()
        sign_in(page, live_server.base, "li", PASSWORD)
        page.goto(f"{live_server.base}/console/callbacks")
        rows = page.locator("#due tbody tr")
        expect(rows.first).to_contain_text(satisfied)  # the oldest 核实 first
        expect(page.locator("#waiting")).to_contain_text(tried)
        expect(page.locator("#no-phone")).to_contain_text("直接结案")

        page.click(f"#due a[data-case='{satisfied}']")
        expect(page.locator(".callback-panel .script")).to_contain_text("请问您对处理结果满意吗")
        expect(page.locator(".callback-panel .script")).to_contain_text("李晓")
        shot(page, "console-callbacks.png")
        page.check("#survey-form input[value=satisfied]")
        page.fill("#survey-form textarea[name=comment]", "清理得很干净")
        page.click("#survey-form button[type=submit]")
        expect(page.locator(".flash.ok")).to_contain_text("工单已结案")
        expect(page.locator("#due")).not_to_contain_text(satisfied)

        page.click(f"#due a[data-case='{unsatisfied}']")
        page.click("#survey-form button[type=submit]")  # no rating chosen: refused, nothing lost
        expect(page.locator(".callback-panel .flash.error")).to_contain_text("请选择市民的评价")
        page.check("#survey-form input[value=unsatisfied]")
        page.fill("#survey-form textarea[name=comment]", "还是积水")
        page.click("#survey-form button[type=submit]")
        expect(page.locator(".flash.ok")).to_contain_text("工单已重开")
        shot(page, "console-callbacks-done.png")
    with live_db(live_server, monkeypatch):
        assert _status(satisfied) == "closed"
        # reopened, then sent back to its department by the job after the commit (the server's job thread)
        deadline = time.monotonic() + 15
        while _status(unsatisfied) != "dispatched" and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _status(unsatisfied) == "dispatched"
