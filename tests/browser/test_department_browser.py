"""The department's half of the loop in Chromium at 1366×768: department staff sign for a case, return another
with a reason code (the agents' queue shows it, with the reason), request an extension that a supervisor
approves (the deadline on the department's page moves), and mark the first one handled with a photo; the
grid worker of its grid then verifies that case on a 375-px phone with a photo of their own.
Screenshots: docs/screenshots/dept-*.png (the supervisors' inbox: test_supervisor_tools_browser.py)."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from playwright.sync_api import expect

from cases.db import session_scope
from cases.lifecycle import CaseStatus
from cases.service import get_case_by_number
from tests.browser.console import CHROMIUM_ARGS, DESK, desk_browser, live_db, shot, sign_in
from tests.conftest import LiveServer
from tests.console_helpers import GRID, PASSWORD, make_user
from tests.dept_fixtures import dispatched_case, returned_case, set_clock, signed_case

pytestmark = [pytest.mark.browser, pytest.mark.slow]
assert CHROMIUM_ARGS  # the browser's flags come from tests/browser/console.py


def _photo(path: Path) -> Path:
    """A photo of the cleaned spot (drawn: a pavement, a bin, a kerb)."""
    img = Image.new("RGB", (800, 600), (196, 200, 204))
    draw = ImageDraw.Draw(img)
    draw.rectangle((0, 420, 800, 600), fill=(150, 150, 150))
    draw.rectangle((520, 250, 640, 440), fill=(40, 120, 60))
    draw.rectangle((510, 235, 650, 255), fill=(30, 90, 45))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=85)
    path.write_bytes(out.getvalue())
    return path


def _deadline(text: str) -> datetime:
    return datetime.strptime(text.strip(), "%Y-%m-%d %H:%M")


def test_department_signs_returns_extends_and_reports_handled(
    live_server: LiveServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with live_db(live_server, monkeypatch):
        from hotline.wiring import wire_observers

        wire_observers()  # the SLA clocks follow the moves this test makes itself, as in the server
        make_user("wang", "department", display_name="王芳")
        make_user("li", "agent", display_name="李晓")
        make_user("zhang", "supervisor", display_name="张班长")
        make_user("zhou", "grid_worker", display_name="周建国", grids=[GRID])
        first = dispatched_case("东门菜市场门口垃圾满溢")
        second = dispatched_case("考棚街井盖旁堆放建筑垃圾")
        late = dispatched_case("青砖湖路人行道垃圾桶满了")
        set_clock(late, started_ago=timedelta(hours=5), due_in=timedelta(hours=-2), supervision="yellow", overdue=True)
        twice = returned_case(2)
        near = signed_case("赤壁路口绿化带内暴露垃圾")
        set_clock(near, started_ago=timedelta(hours=17), due_in=timedelta(hours=2))
    base = live_server.base
    with desk_browser() as context:
        page = context.new_page()
        page.on("dialog", lambda dialog: dialog.accept())
        sign_in(page, base, "wang", PASSWORD)
        assert page.url.endswith("/dept/")
        expect(page.locator("#dept-tabs")).to_contain_text("待签收 3")
        expect(page.locator("#dept-tabs")).to_contain_text("处置中 1")
        expect(page.locator(f"tr[data-number='{late}']")).to_have_attribute("data-due", "bad")
        expect(page.locator(f"tr[data-number='{late}']")).to_contain_text("黄牌督办")
        expect(page.locator(f"tr[data-number='{near}']")).to_have_attribute("data-due", "warn")
        expect(page.locator(f"tr[data-number='{first}']")).to_have_attribute("data-due", "ok")
        expect(page.locator(f"tr[data-number='{twice}']")).to_contain_text("待班长审定")
        shot(page, "dept-queue.png")

        # 签收
        page.click(f"tr[data-number='{first}'] a")
        expect(page.locator("#act-sign")).to_be_visible()
        expect(page.locator("#return-until")).to_be_visible()
        shot(page, "dept-case.png")
        page.locator("#act-sign button[type=submit]").click()
        expect(page.locator("#messages")).to_contain_text("已签收")
        expect(page.locator("#running-clock")).to_contain_text("办结时限")
        expect(page.locator("#act-handle")).to_contain_text("必传")

        # 退单 with a reason code
        page.goto(f"{base}/dept/cases/{second}")
        page.select_option("#act-return select[name=reason_code]", "not_ours")
        page.fill("#act-return textarea[name=reason_text]", "井盖属市政管养范围，请派市政工程管理处")
        page.locator("#act-return button[type=submit]").click()
        expect(page.locator("#messages")).to_contain_text("已退单")
        expect(page.locator("#returns")).to_contain_text("非本单位职责")
        shot(page, "dept-returned.png")

        # 延期申请
        page.goto(f"{base}/dept/cases/{first}")
        before = _deadline(page.locator("#handle-deadline").inner_text())
        page.locator("#act-extension summary").click()
        page.select_option("#act-extension select[name=working_days]", "2")
        page.fill("#act-extension textarea[name=reason]", "需协调环卫车队夜间清运，白天无法作业")
        page.locator("#act-extension button[type=submit]").click()
        expect(page.locator("#pending-extension")).to_contain_text("2 个工作日")
        expect(page.locator("#running-clock")).to_contain_text("已暂停")

        agent = context.browser.new_context(viewport=DESK, locale="zh-CN", timezone_id="Asia/Shanghai")
        desk = agent.new_page()
        # The agent's queue shows the returned case as its own kind, with the reason.
        sign_in(desk, base, "li", PASSWORD)
        desk.goto(f"{base}/console/?kind=returned")
        row = desk.locator(f"#queue-rows tr:has-text('{second}')")
        expect(row).to_contain_text("已退单")
        expect(row).to_contain_text("退单原因：非本单位职责：井盖属市政管养范围")
        shot(desk, "dept-returned-agent-queue.png")

        # The supervisor approves the extension.
        boss = context.browser.new_context(viewport=DESK, locale="zh-CN", timezone_id="Asia/Shanghai")
        sup = boss.new_page()
        sign_in(sup, base, "zhang", PASSWORD)
        sup.goto(f"{base}/supervisor/rulings")  # the old page: now the inbox
        expect(sup.locator(f"tr[data-number='{twice}']")).to_contain_text("第2次：该处属市政管养范围")
        request = sup.locator(f"tr[data-kind=extension][data-number='{first}']")
        expect(request).to_contain_text("需协调环卫车队夜间清运")
        request.locator("input[name=note]").fill("同意延期 2 个工作日")
        request.locator("button[value=approve]").click()
        expect(sup.locator("#decided")).to_contain_text("已批准")
        approved = _deadline(sup.locator("#decided-deadline").inner_text())

        # The department's page: the deadline moved, the history shows who approved it.
        page.goto(f"{base}/dept/cases/{first}")
        moved = _deadline(page.locator("#handle-deadline").inner_text())
        assert moved > before and moved == approved
        expect(page.locator("#extensions")).to_contain_text("已批准")
        expect(page.locator("#extensions")).to_contain_text("张班长")
        expect(page.locator("#running-clock")).not_to_contain_text("已暂停")
        shot(page, "dept-extension-approved.png")

        # 反馈 with a photo
        page.fill("#act-handle textarea[name=note]", "已于今日清运完毕，现场已冲洗，垃圾桶已归位")
        page.set_input_files("#act-handle input[name=photos]", str(_photo(tmp_path / "after.jpg")))
        page.locator("#act-handle button[type=submit]").click()
        expect(page.locator("#messages")).to_contain_text("已反馈处置结果")
        expect(page.locator("#feedback img")).to_have_count(1)
        page.locator("#feedback img").evaluate("img => img.decode()")
        shot(page, "dept-handled.png")
        page.goto(f"{base}/dept/?group=to_verify")
        expect(page.locator(f"tr[data-number='{first}']")).to_be_visible()
        agent.close()
        boss.close()

        # ... and the grid worker of its grid verifies that very case on a 375-px phone, with a photo
        phone = context.browser.new_context(
            viewport={"width": 375, "height": 812}, locale="zh-CN", timezone_id="Asia/Shanghai", is_mobile=True
        )
        worker = phone.new_page()
        sign_in(worker, base, "zhou", PASSWORD)
        worker.locator(f'a.case-card[href="/grid/cases/{first}"]').click()
        expect(worker.get_by_text("已于今日清运完毕")).to_be_visible()  # the department's 反馈, with its photo
        worker.get_by_text("已处置，通过").click()
        worker.set_input_files("#photos", str(_photo(tmp_path / "on-site.jpg")))
        worker.locator("#note").fill("现场已清理干净")
        worker.get_by_role("button", name="提交核实结果").click()
        expect(worker.locator(".flash.ok")).to_contain_text("已核实通过")
        assert worker.evaluate("document.documentElement.scrollWidth") <= 375
        phone.close()
    with live_db(live_server, monkeypatch), session_scope() as s:
        done, back = get_case_by_number(s, first), get_case_by_number(s, second)
        assert done is not None and back is not None
        assert done.extension_count == 1
        assert done.status in (CaseStatus.VERIFIED.value, CaseStatus.SURVEYED.value)  # the 回访 may be under way
        assert back.status == CaseStatus.RETURNED.value
