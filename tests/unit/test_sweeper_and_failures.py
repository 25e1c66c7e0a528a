"""Nothing accepted is lost: queue down at intake → sweeper; failing job → retries → failed → CLI retry."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select
from typer.testing import CliRunner

from cases import jobs
from cases.db import session_scope
from cases.models import Case, Report
from hotline.cli import app as cli
from hotline.queues import SyncQueue
from routing.pipeline import process_report, sweep


class DownQueue:
    def enqueue(self, func_path: str, *args: Any) -> None:
        raise ConnectionError("Redis is down")


@pytest.fixture
def client(client: TestClient, api_headers: dict[str, str]) -> TestClient:
    """The app client, authenticated to /api/v1 with an intake+read+routing key."""
    client.headers.update(api_headers)
    return client


def test_queue_down_at_intake_then_sweeper_recovers(client: TestClient) -> None:
    jobs.set_queue(DownQueue())
    r = client.post("/api/v1/reports", json={"external_id": "down-1", "text": "青砖湖公园垃圾满溢"})
    assert r.status_code == 202
    with session_scope() as s:
        report = s.exec(select(Report)).one()
        assert report.case_id is None and report.processing_status == "pending"
    assert sweep(delay_seconds=3600) == 0  # too fresh: the normal path may still be running
    jobs.set_queue(SyncQueue())
    assert sweep(delay_seconds=0) == 1
    with session_scope() as s:
        assert s.exec(select(Report)).one().case_id is not None
        assert len(s.exec(select(Case)).all()) == 1
    assert sweep(delay_seconds=0) == 0


def test_job_runs_twice_but_makes_one_case(client: TestClient) -> None:
    rid = client.post("/api/v1/reports", json={"external_id": "twice", "text": "路灯不亮"}).json()["report_id"]
    n1, n2 = process_report(rid), process_report(rid)
    assert n1 == n2
    with session_scope() as s:
        assert len(s.exec(select(Case)).all()) == 1


def test_failing_job_ends_failed_and_operator_retries(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    import routing.pipeline as pipeline

    def broken() -> Any:
        raise RuntimeError("model file missing")

    monkeypatch.setattr(pipeline, "get_classifier", broken)
    jobs.set_queue(SyncQueue(raise_errors=False))
    rid = client.post("/api/v1/reports", json={"external_id": "f-1", "text": "井盖丢了"}).json()["report_id"]
    for _ in range(3):  # the queue's retries (attempts 2–4), played by hand
        with pytest.raises(RuntimeError):
            process_report(rid)
    assert process_report(rid) is None  # given up: a late retry does nothing
    with session_scope() as s:
        report = s.get(Report, rid)
        assert report is not None
        assert report.processing_status == "failed" and report.attempts == 4
        assert "model file missing" in (report.last_error or "")
    assert sweep(delay_seconds=0) == 0  # failed reports wait for a person

    runner = CliRunner()
    listed = runner.invoke(cli, ["jobs", "failed"])
    assert listed.exit_code == 0 and "model file missing" in listed.output

    monkeypatch.undo()
    retried = runner.invoke(cli, ["jobs", "retry"])
    assert retried.exit_code == 0, retried.output
    assert "queued 1 of 1" in retried.output
    with session_scope() as s:
        report = s.get(Report, rid)
        assert report is not None and report.case_id is not None and report.processing_status == "done"
