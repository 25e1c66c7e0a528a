"""An agent types a case while the resident talks: live suggestions appear as they type, one key takes
a category and another a grid, submitting lands on the new case. Then 接听下一位: the agent's phone is
rung through the Twilio stand-in, the test plays Twilio's signed webhooks, and the call panel pops the
caller's number (masked) and earlier cases. Screenshots: docs/screenshots/console-new.png and
console-screen-pop.png."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect
from sqlmodel import select
from twilio.request_validator import RequestValidator

from cases.db import session_scope
from cases.lifecycle import Action
from cases.models import Case, Report
from cases.service import apply_action, open_case
from intake.telephony.models import AgentCall
from tests.browser.console import desk_browser, live_db, shot, sign_in
from tests.conftest import LiveServer
from tests.console_helpers import GRID, PASSWORD, make_user
from tests.telephony_fixtures import ACCOUNT, HOTLINE, TOKEN
from tests.twilio_standin import TwilioStandIn

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CALLER = "+8613800138000"


@pytest.fixture
def twilio(monkeypatch: pytest.MonkeyPatch) -> Iterator[TwilioStandIn]:
    """The Twilio stand-in, and the settings the live server (started after this) reads to use it."""
    standin = TwilioStandIn().start()
    for name, value in {
        "HOTLINE_TWILIO_AUTH_TOKEN": TOKEN,
        "HOTLINE_TWILIO_ACCOUNT_SID": ACCOUNT,
        "HOTLINE_TWILIO_FROM_NUMBER": HOTLINE,
        "HOTLINE_TWILIO_API_BASE_URL": standin.url,
        "HOTLINE_TWILIO_RATE_PER_SECOND": "0",
    }.items():
        monkeypatch.setenv(name, value)
    try:
        yield standin
    finally:
        standin.stop()


def test_type_a_case_with_live_suggestions(live_server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> None:
    with live_db(live_server, monkeypatch):
        make_user("li", "agent", display_name="李晓")
    with desk_browser() as context:
        page = context.new_page()
        sign_in(page, live_server.base, "li", PASSWORD)
        page.goto(f"{live_server.base}/console/new")
        page.locator("#description").press_sequentially("东门菜市场门口垃圾堆了好几天，没人清理，味道很大", delay=15)
        first = page.locator("#suggestions button[data-pick=category_code]").first
        expect(first).to_be_visible()
        expect(page.locator("#suggestions button[data-pick=grid_code]").first).to_contain_text("东门社区第1网格")
        page.locator("#phone").fill("13900139000")
        page.locator("#place").fill("东门菜市场北门")
        page.locator("#place").press("Escape")  # leave the field: the number keys pick suggestions
        code = first.get_attribute("data-code")
        page.keyboard.press("1")
        expect(page.locator("#category_code")).to_have_value(code or "")
        page.keyboard.press("4")
        expect(page.locator("#grid_code")).to_have_value(GRID)
        expect(page.locator("#suggestions button[aria-pressed=true]")).to_have_count(2)
        expect(page.locator("#history")).to_contain_text("这个号码还没有反映过问题")
        shot(page, "console-new.png")
        page.locator("#description").press("Control+Enter")
        page.wait_for_url(f"{live_server.base}/console/cases/**")
        number = page.url.rsplit("/", 1)[1]
    with live_db(live_server, monkeypatch), session_scope() as s:
        case = s.exec(select(Case).where(Case.number == number)).one()
        assert (case.category_code, case.grid_code, case.status) == (code, GRID, "dispatched")
        assert s.exec(select(Report)).one().channel == "agent"


def _signed(base: str, path: str, params: dict[str, str]) -> httpx.Response:
    url = base + path
    params = {"AccountSid": ACCOUNT, "ApiVersion": "2010-04-01", **params}
    signature = RequestValidator(TOKEN).compute_signature(url, params)
    r = httpx.post(url, data=params, headers={"X-Twilio-Signature": signature})
    assert r.status_code == 200, r.text
    return r


def _agent_call(live_server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> AgentCall:
    deadline = time.monotonic() + 10
    while True:  # the ring job runs on the server's in-process queue after the commit
        with live_db(live_server, monkeypatch), session_scope() as s:
            row = s.exec(select(AgentCall)).first()
            if row is not None and row.agent_call_sid:
                s.expunge(row)
                return row
        assert time.monotonic() < deadline, "the ring job placed no call"
        time.sleep(0.2)


def _earlier_case() -> str:
    with session_scope() as s:
        case = open_case(s, actor="system:test", title="东门菜市场暴露垃圾", category_code="06010", grid_code=GRID)
        apply_action(s, case, Action.REGISTER, "system:test")
        s.add(Report(channel="web", external_id="earlier", text=case.title, phone=CALLER, case_id=case.id))
        return case.number


def test_take_a_call_screen_pop(
    twilio: TwilioStandIn, live_server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    with live_db(live_server, monkeypatch):
        make_user("li", "agent", display_name="李晓", phone="13500001111")
        number = _earlier_case()
    twilio.set_queue("agents", 1)
    base = live_server.base
    with desk_browser() as context:
        page: Any = context.new_page()
        sign_in(page, base, "li", PASSWORD)
        page.goto(f"{base}/console/new")
        page.locator("#next-caller").click()
        expect(page.locator("#call")).to_contain_text("正在呼叫您的电话 135****1111")
        row = _agent_call(live_server, monkeypatch)
        [placed] = twilio.calls()
        assert placed["To"] == "+8613500001111"
        answer = _signed(base, f"/twilio/agent/answer?ac={row.id}", {"CallSid": row.agent_call_sid or ""})
        queue = ET.fromstring(answer.text).find("Dial/Queue")
        assert queue is not None
        dequeue = queue.get("url", "")[len(base) :]
        form = {"CallSid": "CA" + "5" * 32, "From": CALLER, "To": HOTLINE, "DequeingCallSid": row.agent_call_sid or ""}
        _signed(base, dequeue, form | {"QueueSid": "QU" + "0" * 32, "QueueTime": "41"})
        panel = page.locator("#call")
        expect(panel).to_contain_text("通话中", timeout=8000)  # the panel polls every 2 s
        expect(page.locator("#caller-phone")).to_have_text("138****8000")
        expect(page.locator("#caller-cases")).to_contain_text(number)
        assert CALLER[3:] not in page.content()
        shot(page, "console-screen-pop.png")
        page.locator("#type-case").click()
        page.wait_for_url(f"{base}/console/new?call={row.id}")
        expect(page.locator("#history")).to_contain_text(number)
        expect(page.locator("#phone")).to_have_attribute("placeholder", "已取自当前来电 138****8000，可改填")
