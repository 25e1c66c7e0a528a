"""Log lines say what they are about (issue 13): a web request's id, the report and the case a job works on,
in every record — ours, SQLAlchemy's — once HOTLINE_LOG_FORMAT=json renders them as JSON objects."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog
from fastapi.testclient import TestClient
from sqlmodel import select

from cases.db import session_scope
from cases.logcontext import bind_ids, job_ids
from cases.models import Report
from hotline.bootstrap import configure_logging, log_formatter
from hotline.settings import ServerSettings

Lines = Callable[[], list[dict[str, Any]]]
REPORT = {"channel": "api", "external_id": "ctx-1", "text": "东门菜市场门口暴露垃圾没人清理", "phone": "138 0013 8000"}


@pytest.fixture
def json_log(tmp_path: Path) -> Iterator[Lines]:
    """The process's JSON formatter on a file, SQLAlchemy's statements included; returns its lines, parsed."""
    path = tmp_path / "json.log"
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(log_formatter("json"))
    root, sa = logging.getLogger(), logging.getLogger("sqlalchemy.engine")
    sa_level = sa.level
    root.addHandler(handler)
    sa.setLevel(logging.INFO)

    def lines() -> list[dict[str, Any]]:
        handler.flush()
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]

    try:
        yield lines
    finally:
        root.removeHandler(handler)
        handler.close()
        sa.setLevel(sa_level)


def test_a_request_id_from_the_caller_is_echoed_and_on_its_log_lines(client: TestClient, json_log: Lines) -> None:
    r = client.get("/readyz", headers={"X-Request-ID": "lb-7f3a9c.01"})
    assert r.headers["X-Request-ID"] == "lb-7f3a9c.01"
    mine = [line for line in json_log() if line.get("request_id") == "lb-7f3a9c.01"]
    assert any(line["logger"].startswith("sqlalchemy.engine") for line in mine), mine  # a library's line too
    assert all(line["level"] and line["timestamp"] and line["event"] for line in mine)


@pytest.mark.parametrize("sent", [None, "", "a b", "x" * 129, "<script>", "-starts-with-a-dash"])
def test_a_request_without_a_usable_id_gets_a_fresh_one(client: TestClient, json_log: Lines, sent: str | None) -> None:
    r = client.get("/readyz", headers={} if sent is None else {"X-Request-ID": sent})
    given = r.headers["X-Request-ID"]
    assert given != sent and len(given) == 32 and int(given, 16) >= 0
    assert any(line.get("request_id") == given for line in json_log())
    assert client.get("/readyz").headers["X-Request-ID"] != given  # one per request


def test_an_unexpected_error_is_logged_and_answered_with_the_request_id(client: TestClient, json_log: Lines) -> None:
    def boom() -> None:
        raise RuntimeError("bug")

    client.app.add_api_route("/boom-for-test", boom)  # type: ignore[attr-defined]
    r = TestClient(client.app, raise_server_exceptions=False).get("/boom-for-test", headers={"X-Request-ID": "r-500"})
    assert r.status_code == 500 and r.headers["X-Request-ID"] == "r-500"
    errors = [line for line in json_log() if line["level"] == "error" and line.get("request_id") == "r-500"]
    assert errors and "RuntimeError: bug" in errors[0]["exception"]


def test_a_pipeline_run_logs_report_and_case(client: TestClient, api_headers: dict[str, str], json_log: Lines) -> None:
    r = client.post("/api/v1/reports", json=REPORT, headers=api_headers)  # the pipeline runs right after commit
    assert r.status_code == 202, r.text
    with session_scope() as s:
        report = s.exec(select(Report)).one()
    assert report.case_id is not None
    lines = json_log()
    assert any(line.get("report_id") == report.id and line.get("case_id") == report.case_id for line in lines)
    assert any(line.get("report_id") == report.id and "sqlalchemy" in line["logger"] for line in lines)


def test_what_a_job_binds_ends_with_it() -> None:
    log = logging.getLogger("tests.job")

    @job_ids("report_id")
    def job(report_id: int, other: str = "") -> dict[str, Any]:
        structlog.contextvars.bind_contextvars(case_id=7)
        log.info("working")
        return structlog.contextvars.get_contextvars()

    assert job(5) == {"report_id": 5, "case_id": 7}
    assert job(report_id=6, other="x") == {"report_id": 6, "case_id": 7}
    assert "case_id" not in structlog.contextvars.get_contextvars()
    with pytest.raises(TypeError, match="no parameter case_id"):
        job_ids("case_id")(lambda report_id: None)


def test_an_id_learnt_as_none_is_left_out() -> None:
    # A notice about a case that no report stands behind: its lines say case_id, not "report_id=None".
    @job_ids("message_id")
    def job(message_id: int) -> dict[str, Any]:
        bind_ids(case_id=3, report_id=None)
        return structlog.contextvars.get_contextvars()

    assert job(9) == {"message_id": 9, "case_id": 3}


def test_configure_logging_installs_one_handler_in_the_configured_format() -> None:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    root.handlers = []
    try:
        configure_logging(ServerSettings(log_format="json", log_level="DEBUG"))
        configure_logging(ServerSettings(log_format="json", log_level="DEBUG"))  # again: still one handler
        assert len(root.handlers) == 1 and root.level == logging.DEBUG
        stream = io.StringIO()
        root.handlers[0].setStream(stream)  # type: ignore[attr-defined]
        logging.getLogger("tests.fmt").info("号码 %s", "+8613733334444")
        line = json.loads(stream.getvalue())
        assert line["event"] == "号码 137****4444" and line["logger"] == "tests.fmt"
        configure_logging(ServerSettings(log_format="console"))
        stream = io.StringIO()
        root.handlers[0].setStream(stream)  # type: ignore[attr-defined]
        logging.getLogger("tests.fmt").info("plain")
        assert "plain" in stream.getvalue() and not stream.getvalue().startswith("{")
    finally:
        root.handlers, root.level = saved[0], saved[1]
