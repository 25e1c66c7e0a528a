"""Agent hours and quiet hours are daily windows in city time, also across midnight."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from hotline.settings import reset_settings
from intake.telephony.hours import in_window, window_end


def _utc(h: int, m: int = 0) -> datetime:
    """25 Nov 2026 at h:m city time, as UTC."""
    return datetime(2026, 11, 25, h, m, tzinfo=ZoneInfo("Asia/Shanghai")).astimezone(UTC)


@pytest.fixture(autouse=True)
def _settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOTLINE_TIMEZONE", "Asia/Shanghai")
    reset_settings()


def test_day_window() -> None:
    assert in_window("08:30-17:30", _utc(9))
    assert not in_window("08:30-17:30", _utc(8, 29))
    assert not in_window("08:30-17:30", _utc(17, 30))
    assert in_window("00:00-24:00", _utc(23, 59)) and in_window("00:00-24:00", _utc(0))
    assert not in_window("", _utc(12))


def test_window_across_midnight() -> None:
    assert in_window("21:00-08:00", _utc(23))
    assert in_window("21:00-08:00", _utc(7, 59))
    assert not in_window("21:00-08:00", _utc(8))
    assert not in_window("21:00-08:00", _utc(20, 59))


def test_window_end_is_the_next_close() -> None:
    end = window_end("21:00-08:00", _utc(23))  # 23:00 local → 08:00 local next day = 00:00 UTC
    assert end == datetime(2026, 11, 26, 0, 0, tzinfo=UTC)
    assert window_end("21:00-08:00", _utc(6)) == datetime(2026, 11, 25, 0, 0, tzinfo=UTC)  # 08:00 the same day
