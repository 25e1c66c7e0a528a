"""The back-test and the explanation in Chromium at 1366×768: a supervisor back-tests a draft that sends 暴露
垃圾 to 执法 over 30 days (the changed cases listed, each a link), follows a link to the case page, and a
case routed by the pipeline names the rule and version in one sentence with the details on click.
Screenshots: docs/screenshots/rules-backtest.png, case-decision.png."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from cases.db import session_scope
from cases.models import Report
from routing.pipeline import process_report
from tests.backtest_fixtures import make_cases
from tests.browser.console import desk_browser, live_db, shot, sign_in
from tests.conftest import LiveServer
from tests.console_helpers import PASSWORD, make_user
from tests.rules_helpers import save_draft, shipped, with_actions

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_backtest_a_draft_and_read_why_a_case_went_where(
    live_server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    with live_db(live_server, monkeypatch):
        make_user("zhang", "supervisor", display_name="张班长")
        with session_scope() as s:
            numbers = make_cases(s)
            report = Report(channel="web", external_id="browser-decision", text="东门菜市场旁边有人乱搭建，占了半条路",
                            lat=30.403, lon=114.843, hints={"category_code": "06001"})  # fmt: skip
            s.add(report)
            s.commit()
            rid = report.id
        routed = process_report(rid or 0)
        save_draft(with_actions(shipped(), "garbage-exposed", department="enforcement"))
    base = live_server.base
    with desk_browser() as context:
        page = context.new_page()
        sign_in(page, base, "zhang", PASSWORD)
        page.goto(f"{base}/supervisor/rules/backtest")
        expect(page.locator("#backtest-form")).to_be_visible()
        page.fill("#backtest-days", "30")
        page.click("#backtest-run")
        expect(page.locator("#backtest-changed tbody tr[data-number]")).to_have_count(2)
        expect(page.locator("#backtest-per-rule tr[data-rule='garbage-exposed']")).to_contain_text("暴露垃圾")
        shot(page, "rules-backtest.png")
        page.click(f"#backtest-changed a[href='/console/cases/{numbers['garbage']}']")
        expect(page).to_have_url(f"{base}/console/cases/{numbers['garbage']}")

        page.goto(f"{base}/console/cases/{routed}")
        sentence = page.locator("#decision-sentence")
        expect(sentence).to_contain_text("按规则 v1 #10『违法建设』派给")
        expect(sentence).to_contain_text("因为类别是 06001")
        page.click("#decision-details summary")
        expect(page.locator("#decision-skipped")).to_contain_text("类别 06001 不属于 06010、06042")
        expect(page.locator("#decision-inputs")).to_contain_text("东门社区")
        shot(page, "case-decision.png")
