"""A resident on a 375-px phone: fills the form with a photo and a typed address, submits, gets a case
number, tracks it. Drives Debian's Chromium (never a downloaded browser) against a real uvicorn server
with the in-process job queue, so the submitted page really waits for the pipeline.

Screenshots go to docs/screenshots/webform.png, submitted.png and track.png.
"""

from __future__ import annotations

import io
from pathlib import Path

import httpx
import pytest
from PIL import Image

from tests.browser.console import CHROMIUM, CHROMIUM_ARGS, SHOTS
from tests.conftest import LiveServer, make_api_key, reset_caches

GRID = "421102001001001"  # 东门社区第1网格, whose places include 东门菜市场

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def server(live_server: LiveServer) -> str:
    return live_server.base


@pytest.fixture
def read_headers(live_server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A read key in the live server's database (the test checks what the form stored through the API)."""
    with monkeypatch.context() as mp:
        mp.setenv("HOTLINE_DATABASE_URL", live_server.db_url)
        reset_caches()
        key = make_api_key(["read"])
    reset_caches()
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    path = tmp_path / "垃圾.jpg"
    img = Image.new("RGB", (1200, 900), (90, 110, 70))
    for x in range(300, 900):  # a brown heap, so the thumbnail is not a flat square
        for y in range(450, 800, 3):
            img.putpixel((x, y), (120, 80, 40))
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (30.0, 24.0, 10.0), 3: "E", 4: (114.0, 50.0, 30.0)}
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif)
    path.write_bytes(buf.getvalue())
    return path


def test_resident_reports_with_photo_and_address_then_tracks(
    server: str, photo: Path, read_headers: dict[str, str]
) -> None:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (scripts/system-deps.sh)")
    from playwright.sync_api import expect, sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            context = browser.new_context(
                viewport={"width": 375, "height": 812},
                device_scale_factor=2,
                is_mobile=True,
                has_touch=True,
                locale="zh-CN",
            )
            page = context.new_page()
            page.goto(f"{server}/h5/")
            expect(page.locator("h1")).to_have_text("我要反映")
            # Nothing wider than the phone: no sideways scrolling.
            assert page.evaluate("document.documentElement.scrollWidth") <= 375

            page.fill("#description", "东门菜市场门口垃圾堆了两天没人清理，味道很大")
            page.locator("label.chip", has_text="暴露垃圾").click()  # one of the common categories
            expect(page.locator("input[name=category_code][value='06010']")).to_be_checked()
            page.fill("#cat-search", "井盖")  # the search box finds the rest by name
            expect(page.locator("#cat-results")).to_contain_text("污水井盖异常")
            page.set_input_files("#photos", str(photo))
            expect(page.locator("#photo-previews img")).to_have_count(1)
            page.fill("#address", "东门菜市场北门")
            page.fill("#phone", "138 0013 8000")
            page.screenshot(path=str(SHOTS / "webform.png"), full_page=True)

            page.click("#submit")
            number_el = page.locator("#case-number")
            expect(number_el).to_be_visible(timeout=20_000)  # polls until the pipeline opened the case
            number = number_el.inner_text().strip()
            assert number.startswith("12319-")
            page.screenshot(path=str(SHOTS / "submitted.png"), full_page=True)

            case = httpx.get(f"{server}/api/v1/cases/{number}", headers=read_headers).json()
            assert case["grid"]["code"] == GRID
            assert case["category"]["code"] == "06010"
            # Dispatched at once, or held for an agent (the pipeline's call, not the form's).
            assert case["status"] in ("dispatched", "registered"), case["status"]
            report_id = case["reports"][0]["id"]
            report = httpx.get(f"{server}/api/v1/reports/{report_id}", headers=read_headers).json()
            assert len(report["attachments"]) == 1
            img = httpx.get(f"{server}/attachments/{report['attachments'][0]}")
            assert img.headers["content-type"] == "image/jpeg"
            assert not Image.open(io.BytesIO(img.content)).getexif()  # GPS gone

            page.click("#track-link")  # the success page's own link: the resident's proof, no digits asked
            expect(page.locator("#case-number")).to_have_text(number)
            expect(page.locator("#timeline")).to_contain_text("您的反映已收到")
            expect(page.locator("#timeline")).to_contain_text("已立案")
            expect(page.locator("#case-status")).to_have_text("已派遣" if case["status"] == "dispatched" else "已立案")
            assert page.evaluate("document.documentElement.scrollWidth") <= 375
            page.screenshot(path=str(SHOTS / "track.png"), full_page=True)
        finally:
            browser.close()
