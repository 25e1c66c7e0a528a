"""A running process sees a city's edits without a restart: reference names and the routing table are
looked at again after their refresh interval and rebuilt when what they are built from changed."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from cases.db import dispose_engines, session_scope
from cases.models import Category, Department
from hotline.settings import reset_settings
from routing.rules import route
from routing.ruleset import routing_table
from tests.conftest import LiveServer, make_api_key
from tests.rules_helpers import shipped, sure, with_actions


def _rename(model: type[Department] | type[Category], key: object, name: str) -> None:
    with session_scope() as s:
        row = s.get(model, key)
        assert row is not None
        row.name = name
        s.add(row)
        s.commit()


def _set_active(code: str, active: bool) -> None:
    with session_scope() as s:
        row = s.get(Department, code)
        assert row is not None
        row.active = active
        s.add(row)
        s.commit()


@pytest.fixture
def quick_refresh(monkeypatch: pytest.MonkeyPatch) -> None:
    """Set before the live server starts: it copies this environment."""
    monkeypatch.setenv("HOTLINE_REFERENCE_REFRESH_SECONDS", "0.5")
    monkeypatch.setenv("HOTLINE_ROUTING_REFRESH_SECONDS", "0.5")


@pytest.fixture
def on_live_db(live_server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """This test process writes to the live server's database, as a city's editor would."""
    monkeypatch.setenv("HOTLINE_DATABASE_URL", live_server.db_url)
    reset_settings()
    yield
    dispose_engines()


def test_a_running_server_shows_edited_department_and_category_names(
    quick_refresh: None, live_server: LiveServer, on_live_db: None
) -> None:
    headers = {"Authorization": f"Bearer {make_api_key()}"}
    with httpx.Client(base_url=live_server.base, headers=headers, timeout=30) as http:
        body = {"text": "东门菜市场门口暴露垃圾，两天没人清理", "hints": {"category_code": "06010"}}
        report_id = http.post("/api/v1/reports", json=body).json()["report_id"]
        number, deadline = None, time.monotonic() + 30
        while number is None and time.monotonic() < deadline:  # the server's in-process queue opens the case
            number = http.get(f"/api/v1/reports/{report_id}").json()["case_number"]
            time.sleep(0.1) if number is None else None
        assert number is not None

        def names() -> tuple[str, str]:
            case = http.get(f"/api/v1/cases/{number}").json()
            return case["category"]["name"], case["department"]["name"]

        assert names() == ("暴露垃圾", "区环境卫生管理处")
        _rename(Department, "sanitation", "区环境卫生服务中心")
        _rename(Category, ("事件", "06010"), "暴露垃圾（含散落垃圾）")
        deadline = time.monotonic() + 10
        while names() != ("暴露垃圾（含散落垃圾）", "区环境卫生服务中心") and time.monotonic() < deadline:
            time.sleep(0.1)
        assert names() == ("暴露垃圾（含散落垃圾）", "区环境卫生服务中心")  # same process, no restart


def test_the_routing_table_follows_a_newly_published_version(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Published on one node (here: another session), routed with everywhere within the interval."""
    from routing.rule_sets import publish_spec

    monkeypatch.setenv("HOTLINE_ROUTING_REFRESH_SECONDS", "0.05")
    reset_settings()
    first = routing_table()
    assert route(first, sure("06010")).department_code == "sanitation"
    assert routing_table() is first  # inside the interval: not even a look

    time.sleep(0.06)
    assert routing_table() is first  # looked, nothing changed: the same table

    with session_scope() as s:
        spec = with_actions(shipped(), "garbage-exposed", department="enforcement")
        publish_spec(s, spec, editor="supervisor:li", note="暴露垃圾改派执法")
    time.sleep(0.06)
    table = routing_table()
    assert route(table, sure("06010")).department_code == "enforcement"
    assert first.version is not None and table.version == first.version + 1


def test_the_routing_table_follows_the_departments_it_may_name(
    env: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A new department is a change of input: the table is built again. Deactivating one a rule names is
    one too, but that build is refused (logged) and routing goes on with the table it had."""
    monkeypatch.setenv("HOTLINE_ROUTING_REFRESH_SECONDS", "0.05")
    reset_settings()
    first = routing_table()
    with session_scope() as s:
        s.add(Department(code="lighting", name="区路灯管理所"))
        s.commit()
    time.sleep(0.06)
    second = routing_table()
    assert second is not first

    _set_active("sanitation", False)
    time.sleep(0.06)
    with caplog.at_level(logging.ERROR, logger="cases.providers"):
        assert routing_table() is second
    assert any("routing table" in r.getMessage() for r in caplog.records)
    assert route(routing_table(), sure("06010")).department_code == "sanitation"

    _set_active("sanitation", True)
    time.sleep(0.06)
    assert routing_table() is second  # back to what it was built from: nothing to rebuild


def test_reference_names_follow_the_database_after_the_interval(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cases.reference import reference_names
    from intake.telephony.reference import category_names

    monkeypatch.setenv("HOTLINE_REFERENCE_REFRESH_SECONDS", "3600")
    reset_settings()
    assert reference_names().department("sanitation") == "区环境卫生管理处"
    assert category_names()["01037"] == "路灯"  # what a caller hears: without 异常
    _rename(Department, "sanitation", "区环境卫生服务中心")
    _rename(Category, ("事件", "01037"), "路灯照明异常")
    assert reference_names().department("sanitation") == "区环境卫生管理处"  # not yet time to look

    monkeypatch.setenv("HOTLINE_REFERENCE_REFRESH_SECONDS", "0.05")
    reset_settings()
    time.sleep(0.06)
    assert reference_names().department("sanitation") == "区环境卫生服务中心"
    assert reference_names().category("01037") == "路灯照明异常"
    assert category_names()["01037"] == "路灯照明"
