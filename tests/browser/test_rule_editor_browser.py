"""The rule editor's controls in Chromium, each once, with no script error and nothing the page's CSP
refuses: a supervisor opens a draft, adds a rule in the form (first refused: it can never match), sees it
hidden by the rule above, moves it to the top, duplicates, shadows, disables and deletes rules, changes
the settings, publishes with a note, compares the versions and rolls back. Screenshots of the draft and
of the form."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.console import desk_browser, live_db, shot, sign_in
from tests.conftest import LiveServer
from tests.console_helpers import GRID, PASSWORD, make_user

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _watch(page: Any) -> list[str]:
    """Script errors, console errors (a CSP refusal is one) other than a failed load, and failed loads
    other than the forms' refusals (422, which the browser reports as a failed load too)."""
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"pageerror: {exc}"))

    def console(msg: Any) -> None:
        if msg.type == "error" and not msg.text.startswith("Failed to load resource"):
            problems.append(f"console: {msg.text}")

    def response(r: Any) -> None:
        if r.status >= 400 and r.status != 422:
            problems.append(f"{r.status} {r.url}")

    page.on("console", console)
    page.on("response", response)
    return problems


def _fill_rule(page: Any, *, community: str) -> None:
    page.fill("#rule-name", "东门社区暴露垃圾")
    page.fill("#rule-key", "dongmen-garbage")
    page.select_option("#cond-field-1", "category")
    page.select_option("#cond-op-1", "in")
    page.fill("#cond-value-1", "06010")
    page.select_option("#cond-field-2", "community")
    page.fill("#cond-value-2", community)
    page.select_option("#rule-department", "municipal")
    page.check("#rule-dispatch")
    page.fill("#rule-tags", "东门")


def test_every_control_of_the_rule_editor(live_server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> None:
    with live_db(live_server, monkeypatch):
        make_user("zhao.zg", "supervisor", display_name="赵主管")
    base = live_server.base
    with desk_browser() as context:
        page = context.new_page()
        problems = _watch(page)
        sign_in(page, base, "zhao.zg", PASSWORD)
        page.click("nav.mainnav >> text=规则")
        expect(page.locator("#current-version")).to_have_text("v1")
        page.click("#rules-open-draft")
        expect(page.locator("#rules-notice")).to_contain_text("已新建草稿")
        page.click("#rules-new-rule")
        _fill_rule(page, community="421102001001")
        page.select_option("#cond-field-3", "category")
        page.fill("#cond-value-3", "01001")
        page.click("#rule-save")
        expect(page.locator("#rule-form-error")).to_contain_text("第 3 个条件：请选择运算")
        page.select_option("#cond-op-3", "in")  # with 06010 under 全部满足: can never match
        page.click("#rule-save")
        expect(page.locator("#rule-form-error")).to_contain_text("永远不会命中")
        expect(page.locator("#rule-name")).to_have_value("东门社区暴露垃圾")  # kept as typed
        shot(page, "supervisor-rule-form.png")
        page.select_option("#cond-field-3", "")
        page.fill("#cond-value-3", "")
        page.select_option("#rule-grade", "urgent")
        expect(page.locator("#rule-check-problem")).to_contain_text("挡住")  # would be hidden once saved
        page.click("#rule-save")
        expect(page.locator("#rules-notice")).to_contain_text("规则已保存")
        hidden = page.locator("#draft-rules-dongmen-garbage-problems")
        expect(hidden).to_contain_text("被第 1 条『暴露垃圾』挡住")
        expect(page.locator("#draft-publish-button")).to_be_disabled()
        shot(page, "supervisor-rules-draft.png")
        page.fill("#rule-dongmen-garbage-position", "1")
        page.click("#rule-dongmen-garbage-move-to")
        expect(page.locator("#draft-problem-count")).to_contain_text("检查通过")
        page.click("#rule-dongmen-garbage-down")
        page.click("#rule-dongmen-garbage-up")
        page.click("#rule-garbage-exposed-duplicate")
        expect(page.locator("#draft-rules-garbage-exposed-copy")).to_have_attribute("data-state", "disabled")
        page.click("#rule-garbage-exposed-copy-state-shadow")
        expect(page.locator("#draft-rules-garbage-exposed-copy")).to_have_attribute("data-state", "shadow")
        page.click("#rule-garbage-exposed-copy-delete")
        expect(page.locator("#draft-rules-garbage-exposed-copy")).to_have_count(0)
        page.click("#rule-dongmen-garbage-edit")
        expect(page.locator("#cond-value-2")).to_have_value(GRID[:12])
        page.click("#rule-form-back")
        page.fill("#settings-min-confidence", "0.55")
        page.click("#draft-settings-save")
        expect(page.locator("#draft-changes")).to_contain_text("派遣置信度门槛由“0.6”改为“0.55”")
        page.click("#draft-diff-link")
        expect(page.locator("#diff-title")).to_contain_text("v1 → 草稿")
        page.go_back()
        page.fill("#publish-note", "东门社区暴露垃圾改派市政")
        page.click("#draft-publish-button")
        expect(page.locator("#rules-notice")).to_contain_text("已发布为新版本")
        expect(page.locator("#current-version")).to_have_text("v2")
        page.click("#rules-versions-link")
        page.fill("#version-1-rollback-note", "先恢复原派遣")
        page.click("#version-1-rollback")
        expect(page.locator("#rules-notice")).to_contain_text("已回滚")
        expect(page.locator("#current-version")).to_have_text("v3")
        page.click("#rules-diff-link")
        expect(page.locator("#diff-title")).to_contain_text("v2 → v3")
        page.click("#diff-submit")
        expect(page.locator("#diff-changes")).to_contain_text("删除第 1 条规则『东门社区暴露垃圾』")
        page.goto(f"{base}/supervisor/rules")
        page.click("#rules-open-draft")
        page.click("#draft-discard-button")
        expect(page.locator("#rules-notice")).to_contain_text("草稿已放弃")
        assert problems == [], problems
