"""The supervisors' tools in Chromium at 1366×768: the inbox with both kinds (a 延期 request and a case
returned twice), a 改派 from it to another department; the hotspots with the test stated and the surge's
cases linked; the hotline's figures beside GB/T 33358-2016's targets, with their definitions one click away.
Screenshots: docs/screenshots/supervisor-inbox.png, supervisor-hotspots.png, supervisor-hotline.png."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from cases.db import session_scope
from cases.models import utcnow
from cases.service import get_case_by_number
from cases.settings import kernel_settings
from intake.telephony.hotline_stats import local_midnight
from intake.telephony.models import CallSession
from routing import department
from routing.hotspot_alerts import sweep_in
from routing.hotspot_board import current_test
from tests.browser.console import desk_browser, live_db, shot, sign_in
from tests.conftest import LiveServer
from tests.console_helpers import PASSWORD, make_user
from tests.dept_fixtures import returned_case, signed_case
from tests.hotspot_fixtures import HOT_GRID, seed_hotspot_city

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# (seconds waited before an agent took the call or None, Twilio's QueueResult, minutes ago)
CALLS = [
    (6, "bridged", 300), (9, "bridged", 240), (12, "bridged", 200), (31, "bridged", 150), (8, "bridged", 95),
    (None, "hangup", 90), (14, "bridged", 60), (3, "bridged", 45), (None, "leave", 30), (11, "bridged", 12),
]  # fmt: skip


def _calls() -> None:
    now = utcnow()
    # All of them today, however early in the (local) day the test runs.
    today = (now - local_midnight(now, ZoneInfo(kernel_settings().timezone))).total_seconds() / 60
    scale = min(1.0, (today - 10) / 320) if today > 20 else 0.0
    with session_scope() as s:
        for i, (wait, result, ago) in enumerate(CALLS):
            queued = now - timedelta(minutes=ago * scale, seconds=60 + i)
            s.add(
                CallSession(
                    call_sid=f"CAb{i:031d}",
                    started_at=queued - timedelta(seconds=25),
                    queued_at=queued,
                    answered_at=queued + timedelta(seconds=wait) if wait is not None else None,
                    queue_result=result,
                    ended_at=queued + timedelta(minutes=4),
                )
            )
        for i in range(14):  # calls that ended in the IVR (a case number, a status query)
            started = now - timedelta(minutes=(7 + 23 * i) * scale, seconds=30)
            s.add(CallSession(call_sid=f"CAi{i:031d}", started_at=started, ended_at=now))
        waiting = now - timedelta(seconds=48)
        s.add(CallSession(call_sid="CAw" + "0" * 31, started_at=waiting - timedelta(seconds=20), queued_at=waiting))


def test_inbox_reassign_hotspots_and_hotline(live_server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> None:
    with live_db(live_server, monkeypatch):
        from hotline.wiring import wire_observers

        wire_observers()
        make_user("zhang", "supervisor", display_name="张班长")
        twice = returned_case(2)
        asked = signed_case("考棚街井盖旁堆放建筑垃圾")
        with session_scope() as s:
            case = get_case_by_number(s, asked)
            assert case is not None
            department.request_extension(
                s, case, "dept:wang", working_days=2, reason="需协调市政部门共同处置", department_code="sanitation"
            )
        surge = seed_hotspot_city()
        with session_scope() as s:  # the worker's sweep, once (no SMS: no Twilio here)
            assert len(sweep_in(s, utcnow(), current_test(), sms=False)) == 1
        _calls()
    base = live_server.base
    with desk_browser() as context:
        page = context.new_page()
        page.on("dialog", lambda d: d.accept())
        sign_in(page, base, "zhang", PASSWORD)
        page.goto(f"{base}/supervisor/inbox")
        expect(page.locator("#inbox-rows tr[data-kind]")).to_have_count(2)
        expect(page.locator(f"tr[data-kind=ruling][data-number='{twice}']")).to_contain_text("第2次")
        row = page.locator(f"tr[data-kind=extension][data-number='{asked}']")
        expect(row).to_contain_text("需协调市政部门共同处置")
        expect(page.locator(".nav-count")).to_have_text("2")
        row.locator("details.reassign summary").click()
        row.locator("details.reassign select[name=department_code]").select_option("municipal")
        row.locator("details.reassign input[name=reason]").fill("井盖及周边路面属市政管养范围")
        shot(page, "supervisor-inbox.png")
        row.locator("details.reassign button[type=submit]").click()
        expect(page.locator("#moved")).to_contain_text("已改派至区市政工程管理处")
        expect(page.locator("#inbox-rows tr[data-kind]")).to_have_count(1)
        page.goto(f"{base}/console/cases/{asked}")
        expect(page.locator("body")).to_contain_text("改派至区市政工程管理处")

        page.goto(f"{base}/supervisor/hotspots")
        hot = page.locator(f"#hotspot-rows tr[data-grid='{HOT_GRID}']")
        expect(hot).to_contain_text("暴露垃圾")
        expect(page.locator("#hotspot-rows tr[data-grid]")).to_have_count(1)
        for number in surge[:3]:
            expect(hot.locator(f"a[href='/console/cases/{number}']")).to_be_visible()
        page.locator("#hotspots details summary").click()
        expect(page.locator("#hotspots details")).to_contain_text("P(X ≥ k) < 0.001")
        expect(page.locator("#hotspot-episodes tr[data-episode]")).to_have_count(1)
        shot(page, "supervisor-hotspots.png")

        page.goto(f"{base}/supervisor/hotline")
        expect(page.locator("#tile-waiting")).to_contain_text("1 人")
        expect(page.locator("#tile-15s")).to_contain_text("70.0%")  # 7 of 10 within 15 s
        expect(page.locator("#tile-connected")).to_contain_text("80.0%")
        page.locator("#hotline-definitions summary").click()
        expect(page.locator("#hotline-definitions")).to_contain_text("GB/T 33358-2016")
        shot(page, "supervisor-hotline.png")
