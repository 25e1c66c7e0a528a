"""The case page's actions panel in Chromium: an agent confirms and dispatches a held report with one click on
the page (opening the case is the first), and corrects a category with the classifier's second guess by
keyboard, the correction kept as a labelled example."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import expect
from sqlmodel import select

from cases.db import session_scope
from cases.lifecycle import Action
from cases.models import CaseEvent, Report
from cases.service import apply_action, get_case_by_number, open_case
from classifiers.models import LabelledExample
from tests.browser.console import desk_browser, live_db, shot, sign_in
from tests.conftest import LiveServer
from tests.console_helpers import GRID, PASSWORD, make_user

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TEXT = "东门菜市场门口垃圾桶满了，垃圾堆在路边好几天"


def held_case(text: str = TEXT) -> str:
    """A case the pipeline held for an agent (classifier unsure), with the classifier's top three."""
    with session_scope() as s:
        case = open_case(s, actor="system:pipeline", title=text[:30], category_code="06010", grid_code=GRID)
        top3 = [["06010", 0.48], ["06011", 0.31], ["06012", 0.09]]
        s.add(CaseEvent(case_id=case.id, actor="system:pipeline", action="classify", data={"category_top3": top3}))
        apply_action(s, case, Action.REGISTER, "system:pipeline")
        s.add(CaseEvent(case_id=case.id, actor="system:pipeline", action="hold_for_agent", reason="置信度低"))
        case.needs_review = True
        s.add(Report(channel="sms", external_id=uuid.uuid4().hex, text=text, phone="+8613911112222", case_id=case.id))
        return case.number


def test_confirm_and_dispatch_then_correct_a_category(live_server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> None:
    with live_db(live_server, monkeypatch):
        make_user("li", "agent", display_name="李晓")
        first, second = held_case(), held_case("菜市场北门垃圾满溢没人清运")
    with desk_browser() as context:
        page = context.new_page()
        sign_in(page, live_server.base, "li", PASSWORD)
        clicks = 0

        # Click 1: open the case (from the queue, or a link). Click 2: 确认派遣. Done.
        page.goto(f"{live_server.base}/console/cases/{first}")
        clicks += 1
        panel = page.locator(".case-actions-panel")
        expect(panel.locator(".dispatch-plan")).to_contain_text("区环境卫生管理处")  # before the click
        expect(panel.locator(".dispatch-plan")).to_contain_text("处置时限")
        shot(page, "console-case-actions.png")
        panel.get_by_role("button", name="确认派遣").click()
        clicks += 1
        expect(page.locator("#messages")).to_contain_text("已确认并派遣")
        expect(page.locator(".case-actions-panel")).to_contain_text("已派遣")
        assert clicks <= 3

        # A correction by keyboard: 2 picks the classifier's second guess, d confirms and dispatches it.
        page.goto(f"{live_server.base}/console/cases/{second}")
        expect(page.locator(".case-actions-panel .top3")).to_be_visible()
        # The first case is a possible duplicate of this one: one click fills the merge form.
        page.locator(f"button[data-merge-into='{first}']").click()
        expect(page.locator("#case-merge input[name=into]")).to_have_value(first)
        expect(page.locator("#case-merge input[name=reason]")).to_be_focused()
        page.locator("#case-merge input[name=reason]").blur()  # the agent decides not to merge after all
        page.keyboard.press("?")  # the shortcut list names the panel's keys
        expect(page.locator("dialog#shortcuts")).to_contain_text("确认派遣（按当前类别与网格）")
        page.keyboard.press("Escape")
        page.keyboard.press("2")
        expect(page.locator("#case-confirm select[name=category_code]")).to_have_value("06011")
        page.locator("body").click(position={"x": 5, "y": 300})  # leave the field, so d is a shortcut
        page.keyboard.press("d")
        expect(page.locator("#messages")).to_contain_text("已确认并派遣")
        expect(page.locator("button[data-merge-into]")).to_have_count(0)  # a dispatched case is not merged
        shot(page, "console-case-actions-done.png")

    with live_db(live_server, monkeypatch), session_scope() as s:
        done = get_case_by_number(s, first)
        assert done is not None and done.status == "dispatched" and done.handle_deadline is not None
        corrected = get_case_by_number(s, second)
        assert corrected is not None and (corrected.status, corrected.category_code) == ("dispatched", "06011")
        examples = {e.case_id: e for e in s.exec(select(LabelledExample))}
        assert examples[corrected.id].source == "correction" and examples[corrected.id].label == "06011"
        assert examples[corrected.id].who == "agent:li"
        assert examples[done.id].source == "confirm"
