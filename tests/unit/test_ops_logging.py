"""Issue 17's log lines: the report a request stored and the case an action moved are on the lines that
follow, Twilio's client stays quiet at INFO, and the serving processes log JSON unless told otherwise."""

from __future__ import annotations

import contextvars
import logging
import os
from pathlib import Path

import pytest
import structlog

from cases import jobs
from cases.db import session_scope
from cases.lifecycle import Action
from cases.service import apply_action, open_case
from hotline.bootstrap import configure_logging, serving_process
from hotline.settings import server_settings
from intake.core import accept
from intake.schemas import ReportIn
from tests.escalation_fixtures import RecordingQueue
from tests.unit.test_log_context import Lines, json_log  # noqa: F401  (the fixture)


def test_accept_binds_the_report_for_the_rest_of_its_request(env: Path, json_log: Lines) -> None:  # noqa: F811
    jobs.set_queue(RecordingQueue())  # no pipeline run: the id comes from intake.accept itself
    log = logging.getLogger("tests.after_accept")

    def request() -> int | None:
        with structlog.contextvars.bound_contextvars(request_id="ops-1"), session_scope() as s:
            first = accept(s, ReportIn(channel="api", external_id="ops-1", text="井盖缺失"))
            log.info("after accept")
            again = accept(s, ReportIn(channel="api", external_id="ops-1", text="井盖缺失"))
            assert again.report.id == first.report.id and not again.created
            return first.report.id

    report_id = contextvars.copy_context().run(request)
    (line,) = [line for line in json_log() if line["logger"] == "tests.after_accept"]
    assert line["report_id"] == report_id and line["request_id"] == "ops-1"
    assert "report_id" not in structlog.contextvars.get_contextvars()


def test_a_lifecycle_action_binds_its_case(env: Path) -> None:
    def move() -> tuple[int | None, dict[str, object]]:
        with session_scope() as s:
            case = open_case(s, actor="system:test", title="井盖缺失", category_code="06010")
            s.flush()
            apply_action(s, case, Action.REGISTER, "system:test")
            return case.id, structlog.contextvars.get_contextvars()

    case_id, bound = contextvars.copy_context().run(move)
    assert case_id is not None and bound["case_id"] == case_id
    assert structlog.contextvars.get_contextvars().get("case_id") is None


def test_twilio_client_lines_are_not_logged_at_info() -> None:
    configure_logging(server_settings())
    assert logging.getLogger("twilio.http_client").getEffectiveLevel() == logging.WARNING


def test_serving_processes_default_to_json_and_share_a_metrics_dir(
    env: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("HOTLINE_LOG_FORMAT", "PROMETHEUS_MULTIPROC_DIR"):
        # set, then removed: monkeypatch then removes what serving_process sets, for the next tests
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    monkeypatch.setenv("HOTLINE_VAR_DIR", str(tmp_path / "var"))
    from cases.settings import KernelSettings

    assert server_settings().log_format == "console"  # the demo and other commands
    serving_process(KernelSettings())
    assert server_settings().log_format == "json"
    assert os.environ["PROMETHEUS_MULTIPROC_DIR"] == str(tmp_path / "var" / "prometheus")
    assert (tmp_path / "var" / "prometheus").is_dir()
    monkeypatch.setenv("HOTLINE_LOG_FORMAT", "console")  # an operator's choice wins
    serving_process(KernelSettings())
    assert server_settings().log_format == "console"
