"""SIGTERM (what systemd sends on stop and restart) loses nothing: a `hotline worker` finishes the job it
is running before it exits, and `hotline serve` finishes the requests in flight."""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from redis import Redis
from rq import Queue
from rq.job import Job, JobStatus
from sqlmodel import select

from cases.db import session_scope
from cases.models import Report
from tests.integration.conftest import REDIS_URL, Procs, wait_until

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


def test_sigterm_lets_a_worker_finish_its_job(prod_env: dict[str, str], procs: Procs, tmp_path: Path) -> None:
    queue = Queue(prod_env["HOTLINE_QUEUE_NAME"], connection=Redis.from_url(REDIS_URL))
    # The slow job lives in the tests package: the worker imports it from the repository's root.
    env = {**prod_env, "PYTHONPATH": str(REPO)}
    worker = procs.start(["worker", "--no-sweep"], env, tmp_path / "worker.log")
    job = queue.enqueue("tests.integration.slow_jobs.slow_job", str(tmp_path), 4.0, job_timeout=60)
    wait_until(lambda: (tmp_path / "started").exists(), 60, "the job to start")
    Procs.kill(worker, signal.SIGTERM)  # the whole process group, as systemd's default KillMode does
    assert not (tmp_path / "finished").exists()  # it was in the middle of the job
    worker.wait(30)
    assert (tmp_path / "finished").exists(), (tmp_path / "worker.log").read_text()
    job = Job.fetch(job.id, connection=queue.connection)
    assert job.get_status() == JobStatus.FINISHED and job.return_value() == "finished"
    assert worker.returncode == 0, (tmp_path / "worker.log").read_text()


def _slow_body(report: dict[str, str], seconds: float) -> Iterator[bytes]:
    """The report's JSON sent over `seconds`: the request is in flight all that time."""
    data = json.dumps(report, ensure_ascii=False).encode()
    half = len(data) // 2
    yield data[:half]
    time.sleep(seconds)
    yield data[half:]


def test_sigterm_lets_the_web_server_finish_a_request_in_flight(
    prod_env: dict[str, str], procs: Procs, server: str, api_key: str
) -> None:
    serve = procs.procs[-1]
    report = {"channel": "api", "external_id": "graceful-1", "text": "东门菜市场门口暴露垃圾没人清理"}
    sent: dict[str, httpx.Response] = {}

    def post() -> None:
        sent["r"] = httpx.post(
            f"{server}/api/v1/reports",
            content=_slow_body(report, 3.0),
            headers={"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"},
            timeout=30,
        )

    t = threading.Thread(target=post)
    t.start()
    time.sleep(1.0)  # the first half is on its way
    Procs.kill(serve, signal.SIGTERM)
    t.join(30)
    assert sent["r"].status_code == 202, sent["r"].text
    serve.wait(30)
    with session_scope() as s:
        assert len(s.exec(select(Report)).all()) == 1  # stored, once
    with pytest.raises(httpx.HTTPError):  # and it is gone: nothing new is accepted
        httpx.get(f"{server}/healthz", timeout=2)
