"""The case page in Chromium at 1366×768: everything on it loads under the CSP (no violation), the map
is drawn, a report's full phone appears only after the click and the timeline then shows who saw it."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from playwright.sync_api import expect

from cases.db import session_scope
from cases.lifecycle import Action
from cases.models import Report, utcnow
from cases.service import apply_action, open_case, record_event
from cases.states import EventKind
from intake.storage import store_image
from intake.telephony.models import OutboundMessage, SmsMessage
from tests.browser.console import desk_browser, live_db, shot, sign_in
from tests.conftest import LiveServer
from tests.console_helpers import DEPARTMENT, GRID, PASSWORD, make_user

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PHONE = "+8613800138000"


def _photo() -> bytes:
    img = Image.new("RGB", (640, 480), (120, 150, 110))
    draw = ImageDraw.Draw(img)
    draw.rectangle((220, 160, 420, 400), fill=(40, 90, 40))
    draw.rectangle((200, 140, 440, 170), fill=(30, 60, 30))
    buf = io.BytesIO()
    img.save(buf, "JPEG")
    return buf.getvalue()


def _seed() -> str:
    with session_scope() as s:
        earlier = open_case(
            s, actor="system:pipeline", title="菜市场后门污水外溢", category_code="06011", grid_code=GRID
        )
        earlier.created_at = utcnow() - timedelta(days=9)
        s.add(
            Report(
                channel="voice",
                external_id="CA-old",
                text="菜市场后门污水外溢",
                phone=PHONE,
                case_id=earlier.id,
                received_at=earlier.created_at,
            )
        )
        twin = open_case(
            s, actor="system:pipeline", title="东门菜市场垃圾堆放", category_code="06010", grid_code="421102001001002"
        )
        apply_action(s, twin, Action.REGISTER, "system:pipeline")
        att = store_image(s, _photo()).id
        case = open_case(
            s, actor="system:pipeline", title="东门菜市场门口垃圾桶满溢", category_code="06010", grid_code=GRID
        )
        report = Report(
            channel="sms",
            external_id="SM-case",
            text="东门菜市场门口垃圾桶满了，臭味很大，<script>alert(1)</script> 请尽快清运。",
            phone=PHONE,
            case_id=case.id,
            lat=30.4031,
            lon=114.8436,
            address="东门菜市场北门",
            attachments=[att],
        )
        s.add(report)
        s.flush()
        record_event(
            s,
            case,
            EventKind.CLASSIFY,
            "system:pipeline",
            data={
                "category_code": "06010",
                "category_confidence": 0.58,
                "category_top3": [["06010", 0.58], ["06011", 0.27], ["06015", 0.06]],
                "grid_code": GRID,
                "grid_confidence": 0.95,
                "grid_source": "gps",
                "report_id": report.id,
            },
        )
        apply_action(s, case, Action.REGISTER, "system:pipeline", data={"channel": "sms"})
        case.department_code = DEPARTMENT
        case.needs_review = True
        record_event(
            s, case, EventKind.HOLD_FOR_AGENT, "system:pipeline", reason="classifier confidence below the threshold"
        )
        record_event(
            s, case, Action.NOTE, "system:sms", reason="市民短信补充", data={"text": "门口的垃圾已经堆到路上了"}
        )
        record_event(s, case, Action.NOTE, "agent:li", reason="已联系菜市场管理方，等待环卫确认")
        s.add(
            SmsMessage(
                message_sid="SM-case", phone=PHONE, body=report.text, reply="您的反映已收到，工单号稍后以短信发送。"
            )
        )
        s.add(SmsMessage(message_sid="SM-more", phone=PHONE, body="门口的垃圾已经堆到路上了", kind="append"))
        s.add(
            OutboundMessage(
                dedupe_key="cn",
                kind="sms",
                purpose="case_number",
                to_phone=PHONE,
                body=f"您的工单号 {case.number}",
                case_id=case.id,
            )
        )
        return case.number


def test_the_case_page(live_server: LiveServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOTLINE_VAR_DIR", str(tmp_path / "var"))  # the live server's: the photo is stored there
    with live_db(live_server, monkeypatch):
        make_user("li", "agent", display_name="李晓")
        number = _seed()
    with desk_browser() as context:
        page = context.new_page()
        violations: list[str] = []
        page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
        dialogs: list[str] = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        sign_in(page, live_server.base, "li", PASSWORD)
        page.goto(f"{live_server.base}/console/cases/{number}")
        page.wait_for_load_state("networkidle")
        expect(page.locator("#case-header h1")).to_contain_text(number)
        expect(page.locator(".report-text")).to_contain_text("<script>alert(1)</script>")  # shown as text
        expect(page.locator(".map svg .grid-main")).to_have_count(1)
        expect(page.locator(".map svg .report-dot")).to_have_count(1)
        expect(page.locator(".repeat")).to_contain_text("菜市场后门污水外溢")
        expect(page.locator("[data-duplicate-number]")).to_have_count(1)
        expect(page.locator(".top3 li")).to_have_count(3)
        expect(page.locator(".thumbs img")).to_have_count(1)
        assert page.locator(".thumbs img").evaluate("img => img.naturalWidth") > 0  # the thumbnail loaded
        expect(page.locator(".report-meta .phone")).to_contain_text("138****8000")
        assert "13800138000" not in page.content()
        # The two columns sit side by side at the agents' screen size.
        main, side = page.locator(".case-main").bounding_box(), page.locator(".case-side").bounding_box()
        assert main and side and side["x"] >= main["x"] + main["width"] and side["y"] == pytest.approx(main["y"], abs=2)
        shot(page, "console-case.png")

        page.click("button.reveal")
        expect(page.locator(".phone-full")).to_have_text(PHONE)
        expect(page.locator("#case-timeline")).to_contain_text("完整电话号码")  # refreshed on its own
        expect(page.locator("#case-timeline")).to_contain_text("李晓（坐席）")
        assert not violations, violations
        assert not dialogs  # nothing in a report ran
