"""A job that an earlier release left waiting in Redis (stored by its old dotted path, before jobs had
names) is run by this release's `hotline worker`."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from rq import Queue

from cases import jobs
from cases.db import session_scope
from cases.models import Case, Report
from hotline.queues import redis_connection
from intake.core import accept
from intake.schemas import ReportIn
from tests.integration.conftest import BIN

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


def test_a_pipeline_job_queued_by_the_earlier_release_opens_the_case(prod_env: dict[str, str]) -> None:
    jobs.set_queue(None)  # stored only: the job comes from the old release's queue below
    with session_scope() as s:
        report = accept(s, ReportIn(channel="api", external_id="old-job", text="东门菜市场门口暴露垃圾没人清理"))
        s.commit()
        report_id = report.report.id
    queue = Queue(prod_env["HOTLINE_QUEUE_NAME"], connection=redis_connection(prod_env["HOTLINE_REDIS_URL"]))
    queue.enqueue("routing.pipeline.process_report", report_id)  # as the earlier release's RQQueue did
    worker = subprocess.run(
        [str(BIN / "hotline"), "worker", "--burst", "--no-sweep"],
        cwd=REPO,
        env={**prod_env, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert worker.returncode == 0, worker.stderr[-2000:]
    with session_scope() as s:
        stored = s.get(Report, report_id)
        assert stored is not None and stored.case_id is not None and stored.processing_status == "done"
        assert s.get(Case, stored.case_id) is not None
