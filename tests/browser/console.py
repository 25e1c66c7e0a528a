"""Shared pieces of the console's browser tests: Debian's Chromium at the agents' screen size, signing in
through the real form, and writing to the live server's database (users, cases) from the test."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import LiveServer, reset_caches

REPO = Path(__file__).resolve().parents[2]
SHOTS = REPO / "docs" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESK = {"width": 1366, "height": 768}  # the agents' screens


@contextmanager
def live_db(live_server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Inside: `session_scope()` and every use case work on the live server's database."""
    with monkeypatch.context() as mp:
        mp.setenv("HOTLINE_DATABASE_URL", live_server.db_url)
        reset_caches()
        try:
            yield
        finally:
            reset_caches()


@contextmanager
def desk_browser() -> Iterator[Any]:
    """A headless Chromium context at 1366×768, zh-CN; yields the context (new_page() on it)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (scripts/system-deps.sh)")
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser.new_context(viewport=DESK, locale="zh-CN", timezone_id="Asia/Shanghai")
        finally:
            browser.close()


def sign_in(page: Any, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "/login" not in page.url, f"sign-in as {username} failed: {page.url}"


def shot(page: Any, name: str) -> Path:
    """A screenshot under docs/screenshots/ (look at it before committing it)."""
    path = SHOTS / name
    page.screenshot(path=str(path), full_page=True)
    return path
