"""A grid worker on a 375×812 phone: reports a problem from patrol with a photo and the browser's GPS fix
(a double tap on 提交), and it becomes a dispatched case; verifies a handled case with a photo; checks a
resident's report a routing rule held for 核查, and it is dispatched. Screenshots: docs/screenshots/grid-*.png."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlmodel import col, select

from cases.db import session_scope
from cases.lifecycle import CaseStatus
from cases.models import Case, CaseEvent, Report
from cases.service import get_case_by_number, open_case, record_event
from cases.states import Channel, EventKind
from hotline.wiring import wire_case_hooks
from intake.models import Attachment
from tests.browser.console import CHROMIUM, CHROMIUM_ARGS, SHOTS, live_db, shot, sign_in
from tests.conftest import LiveServer
from tests.console_helpers import GRID, PASSWORD, make_user
from tests.grid_helpers import handled_case, photo, stored_photo

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PHONE = {"width": 375, "height": 812}  # an iPhone X-sized screen, the grid workers' phones
HERE = {"latitude": 30.40312, "longitude": 114.84321, "accuracy": 8}  # 东门路, in GRID


@contextmanager
def phone_browser(javascript: bool = True) -> Iterator[Any]:
    """Headless Chromium as a phone (375×812, touch, zh-CN) that may tell pages where it is."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (scripts/system-deps.sh)")
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser.new_context(
                viewport=PHONE,
                device_scale_factor=2,
                is_mobile=True,
                has_touch=True,
                locale="zh-CN",
                timezone_id="Asia/Shanghai",
                geolocation=HERE,
                permissions=["geolocation"],
                java_script_enabled=javascript,
            )
        finally:
            browser.close()


@pytest.fixture
def world(live_server: LiveServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """The live server's database and var dir (for stored photos), a grid worker, and one task of each kind."""
    monkeypatch.setenv("HOTLINE_VAR_DIR", str(tmp_path / "var"))  # the live server's (tests/conftest.py)
    with live_db(live_server, monkeypatch):
        wire_case_hooks()  # the clocks follow the moves made here, as in the server (the 核实 deadline)
        make_user("zhou", "grid_worker", display_name="周建国", grids=[GRID])
        before, after = stored_photo((120, 110, 90)), stored_photo((70, 150, 90))
        verify = handled_case(report_photos=(before,), handled_photos=(after,))
        with session_scope() as s:  # a resident's report a rule holds for 核查 (as routing.pipeline leaves it)
            case = open_case(
                s,
                actor="system:pipeline",
                title="东门巷有人私搭乱建",
                category_code="06001",
                category_confidence=0.9,
                grid_code=GRID,
                grid_confidence=0.95,
            )
            case.needs_check = True
            s.add(
                Report(
                    channel="web",
                    external_id="r-check",
                    text="东门巷12号院门口新搭了一间铁皮房",
                    address="东门巷12号",
                    case_id=case.id,
                )
            )
            record_event(s, case, EventKind.CHECK_REQUESTED, "system:pipeline", reason="rule illegal-building")
            check = case.number
        yield {"verify": verify, "check": check}


def _upload(page: Any, colour: tuple[int, int, int]) -> None:
    page.set_input_files("#photos", files=[{"name": "现场.jpg", "mimeType": "image/jpeg", "buffer": photo(colour)}])
    expect(page.locator("[data-previews] img")).to_have_count(1)


def test_report_from_patrol_becomes_a_dispatched_case(
    live_server: LiveServer, world: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    base = live_server.base
    with phone_browser() as context:
        page = context.new_page()
        sign_in(page, base, "zhou", PASSWORD)
        assert page.url == f"{base}/grid/"
        expect(page.locator(".case-card")).to_have_count(2)
        shot(page, "grid-home.png")
        page.get_by_text("巡查上报问题").click()
        page.wait_for_url(f"{base}/grid/report")
        expect(page.locator("#locate-status")).to_contain_text("已定位")
        _upload(page, (180, 150, 60))
        page.locator("label.chip", has_text="暴露垃圾").first.click()
        page.locator("#cat-search").fill("井盖")
        expect(page.locator("#cat-results label.chip").first).to_be_visible()
        page.locator("#description").fill("东门路口垃圾桶满溢，垃圾散落在人行道上")
        page.locator("#address").fill("东门路 12 号门前")
        assert page.locator("#lat").input_value() == "30.403120"
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # nothing wider than the phone
        shot(page, "grid-report.png")
        page.locator("#submit").dblclick()  # a double tap
        page.wait_for_url(f"{base}/grid/reports/**")
        expect(page.locator("#status")).to_contain_text("已派遣")  # htmx polls until the pipeline is done
        shot(page, "grid-reported.png")
        number = page.locator("#status .number").inner_text().strip()
        page.get_by_text("返回任务").click()
        page.get_by_text("本网格在办").click()
        expect(page.locator(f'a.case-card[href="/grid/cases/{number}"]')).to_contain_text("已派遣")
        shot(page, "grid-cases.png")
    with live_db(live_server, monkeypatch), session_scope() as s:
        [report] = s.exec(select(Report).where(Report.channel == Channel.GRID)).all()
        assert (report.lat, report.lon, report.raw["accuracy_m"]) == (30.40312, 114.84321, 8)
        assert len(report.attachments) == 1
        case = s.get(Case, report.case_id)
        assert case is not None and case.number == number
        assert (case.status, case.category_code, case.department_code) == (CaseStatus.DISPATCHED, "06010", "sanitation")


def test_verify_a_handled_case_with_a_photo(
    live_server: LiveServer, world: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    base, number = live_server.base, world["verify"]
    with phone_browser() as context:
        page = context.new_page()
        sign_in(page, base, "zhou", PASSWORD)
        page.locator(f'a.case-card[href="/grid/cases/{number}"]').click()
        page.wait_for_url(f"{base}/grid/cases/{number}")
        expect(page.get_by_text("已清运并冲洗地面")).to_be_visible()
        for img in page.locator(".thumbs img").all():  # the resident's photo and the department's load
            expect(img).to_have_js_property("complete", True)
            assert img.evaluate("i => i.naturalWidth") > 0
        page.get_by_text("已处置，通过").click()
        _upload(page, (90, 160, 200))
        page.locator("#note").fill("垃圾已清运，地面干净")
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        shot(page, "grid-verify.png")
        page.get_by_role("button", name="提交核实结果").click()
        page.wait_for_url(f"{base}/grid/?done=verified**")
        expect(page.locator(".flash.ok")).to_contain_text("已核实通过")
        expect(page.locator(f'a.case-card[href="/grid/cases/{number}"]')).to_have_count(0)
        shot(page, "grid-verified.png")
    with live_db(live_server, monkeypatch), session_scope() as s:
        case = get_case_by_number(s, number)
        assert case is not None and case.status == CaseStatus.VERIFIED
        event = s.exec(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(col(CaseEvent.id).desc())).first()
        assert event is not None and (event.action, event.actor) == ("verify", "grid:zhou")
        [att] = event.data["photos"]
        assert s.get(Attachment, att) is not None


def test_check_a_reported_case_on_site(
    live_server: LiveServer, world: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    base, number = live_server.base, world["check"]
    with phone_browser() as context:
        page = context.new_page()
        sign_in(page, base, "zhou", PASSWORD)
        page.goto(f"{base}/grid/cases/{number}")
        page.get_by_role("button", name="提交核查结果").click()  # no result chosen: the browser asks first
        assert page.url == f"{base}/grid/cases/{number}"
        page.get_by_text("现场未发现").click()
        page.get_by_role("button", name="提交核查结果").click()  # not found needs the reason: refused, kept
        expect(page.locator("#form-error")).to_contain_text("请填写核查不属实的原因")
        expect(page.locator("input[value=not_found]")).to_be_checked()
        shot(page, "grid-check-refused.png")
        page.get_by_text("问题属实").click()
        _upload(page, (140, 140, 150))
        shot(page, "grid-check.png")
        page.get_by_role("button", name="提交核查结果").click()
        page.wait_for_url(f"{base}/grid/?done=checked**")
    with live_db(live_server, monkeypatch), session_scope() as s:
        case = get_case_by_number(s, number)
        assert case is not None
        assert (case.status, case.needs_check, case.department_code) == (CaseStatus.DISPATCHED, False, "enforcement")


def test_report_from_patrol_without_javascript(
    live_server: LiveServer, world: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """No script at all: the browser's own file input, the full category list, an address instead of the GPS
    fix, and the page after it refreshes itself until the case is there."""
    base = live_server.base
    with phone_browser(javascript=False) as context:
        page = context.new_page()
        sign_in(page, base, "zhou", PASSWORD)
        page.goto(f"{base}/grid/report")
        expect(page.locator("#cat-search")).to_be_hidden()
        expect(page.locator("#locate")).to_be_hidden()
        page.set_input_files("#photos", files=[{"name": "a.jpg", "mimeType": "image/jpeg", "buffer": photo()}])
        page.select_option("#category_other", "01002")  # 污水井盖 — not among the common ones
        page.locator("#description").fill("东门巷口井盖松动，踩上去会翻")
        page.locator("#address").fill("东门巷口")
        shot(page, "grid-report-nojs.png")
        page.locator("#submit").click()
        page.wait_for_url(f"{base}/grid/reports/**")
        expect(page.locator("#status")).to_contain_text("已派遣", timeout=15_000)  # <meta refresh> in <noscript>
    with live_db(live_server, monkeypatch), session_scope() as s:
        [report] = s.exec(select(Report).where(Report.channel == Channel.GRID)).all()
        assert report.lat is None and report.address == "东门巷口"
        case = s.get(Case, report.case_id)
        assert case is not None and (case.status, case.category_code) == (CaseStatus.DISPATCHED, "01002")
