"""The agents' queue in Chromium: an agent signs in and sees the held items with another agent's claim,
moves the selection with j/k, keeps it across the auto-refresh (while a new item arrives), filters by
channel through the form (a bookmarkable URL), and opens the selected item with Enter."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from agent_ui.workbench import claims
from cases.db import session_scope
from cases.models import utcnow
from tests.browser.console import desk_browser, live_db, shot, sign_in
from tests.conftest import LiveServer
from tests.console_helpers import PASSWORD, make_user
from tests.queue_fixtures import failed_report, held_case

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def fast_refresh(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The live server (started after this) refreshes the queue every 2 seconds."""
    monkeypatch.setenv("HOTLINE_QUEUE_REFRESH_SECONDS", "2")
    yield


def _fill() -> dict[str, str]:
    make_user("li", "agent", display_name="李晓")
    wang = make_user("wang", "agent", display_name="王芳")
    with session_scope() as s:
        a = held_case(s, "东门菜市场门口垃圾满溢，气味很大", confidence=0.42, ago=timedelta(hours=5))
        b = held_case(
            s,
            "摄像头告警：暴露垃圾（东门路口 1 号，置信度 0.91）",
            channel="camera",
            hints={"needs_review": True},
            confidence=0.91,
            ago=timedelta(hours=3),
            reason="channel asks for an agent's confirmation",
        )
        c = held_case(
            s,
            "语音留言（待转写）",
            channel="voice",
            hints={"voicemail": True},
            category=None,
            confidence=0.0,
            grid=None,
            ago=timedelta(minutes=50),
            reason="channel asks for an agent's confirmation; no category; no grid",
        )
        d = held_case(
            s, "<script>alert('x')</script>考棚街井盖松动", category="01001", confidence=0.55, ago=timedelta(minutes=12)
        )
        f = failed_report(s, "青砖湖小区路灯一直不亮", ago=timedelta(hours=1))
        claims.claim(s, f"case:{a.id}", wang, utcnow(), seconds=3600)
        return {
            "a": f"case:{a.id}",
            "b": f"case:{b.id}",
            "c": f"case:{c.id}",
            "d": f"case:{d.id}",
            "f": f"report:{f.id}",
        }


def test_queue_keeps_the_selection_across_refreshes(
    fast_refresh: None, live_server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    with live_db(live_server, monkeypatch):
        keys = _fill()
    base = live_server.base
    with desk_browser() as context:
        page = context.new_page()
        sign_in(page, base, "li", PASSWORD)
        page.goto(f"{base}/console/")
        rows = page.locator("#queue-rows tr[data-item]")
        expect(rows).to_have_count(5)
        expect(page.locator(f"tr[data-item='{keys['a']}']")).to_contain_text("王芳 正在处理")
        expect(page.locator(f"tr[data-item='{keys['d']}']")).to_contain_text(
            "<script>alert('x')</script>考棚街井盖松动"
        )
        expect(page.locator("#queue-rows tr.selected")).to_have_attribute("data-item", keys["a"])  # the first
        page.keyboard.press("j")
        page.keyboard.press("j")
        expect(page.locator("#queue-rows tr.selected")).to_have_attribute("data-item", keys["f"])
        shot(page, "console-queue.png")

        with live_db(live_server, monkeypatch), session_scope() as s:  # an older item arrives above the selection
            held_case(s, "遗爱湖公园绿化带被踩踏", category="04001", confidence=0.3, ago=timedelta(days=2))
        expect(rows).to_have_count(6, timeout=10_000)  # the auto-refresh brought it
        expect(page.locator("#queue-rows tr.selected")).to_have_attribute("data-item", keys["f"])
        assert page.locator("#queue-rows tr.selected").count() == 1

        page.keyboard.press("Enter")
        page.wait_for_url(f"{base}/console/items/{keys['f']}")
        expect(page.locator("button", has_text="重新处理")).to_be_visible()
        shot(page, "console-queue-item.png")

        page.goto(f"{base}/console/")
        page.select_option("select[name=channel]", "camera")  # applies on change
        page.wait_for_url("**/console/?*channel=camera*")
        expect(rows).to_have_count(1)
        expect(rows.first).to_have_attribute("data-item", keys["b"])
        expect(page.locator("select[name=channel]")).to_have_value("camera")
        page.wait_for_timeout(2500)  # a refresh keeps the filter
        expect(rows).to_have_count(1)
        shot(page, "console-queue-filtered.png")
