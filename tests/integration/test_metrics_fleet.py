"""/metrics of a real `hotline serve --workers 2` with a `hotline worker` beside it: whichever uvicorn
worker answers the scrape, the figures are the sum of all processes of the machine (prometheus_client's
multiprocess mode, one directory under HOTLINE_VAR_DIR), the worker's job timings included, and the
queue is measured in Redis."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.conftest import Procs, wait_until

pytestmark = pytest.mark.integration


def _samples(base: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    r = httpx.get(f"{base}/metrics", timeout=10)
    assert r.status_code == 200, r.text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(r.text)
        for s in family.samples
    }


def test_metrics_add_up_across_processes(
    prod_env: dict[str, str], procs: Procs, server: str, api_key: str, tmp_path: Path
) -> None:
    procs.start(["worker"], prod_env, tmp_path / "worker.log")
    headers = {"Authorization": f"Bearer {api_key}"}
    for i in range(4):
        body = {"channel": "api", "external_id": f"m-{i}", "text": "东门菜市场门口暴露垃圾没人清理"}
        assert httpx.post(f"{server}/api/v1/reports", json=body, headers=headers, timeout=30).status_code == 202
    created = (("channel", "api"), ("outcome", "created"))
    processed = (("job", "process_report"),)
    wait_until(
        lambda: _samples(server).get(("hotline_job_duration_seconds_count", processed), 0) >= 4,
        120,  # the worker's start (the classifier's tables) is slow on a busy CI machine
        "the worker's job timings in the web node's /metrics",
    )
    depth = ("hotline_queue_depth", (("queue", prod_env["HOTLINE_QUEUE_NAME"]),))
    # Each dispatch enqueues its follow-ups (the resident's SMS, the department's notice): drained in time.
    wait_until(lambda: _samples(server).get(depth) == 0, 120, "the worker to drain the follow-up jobs")
    for _ in range(6):  # each scrape may be answered by either uvicorn worker: always the same sum
        samples = _samples(server)
        assert samples[("hotline_intake_total", created)] == 4
        assert samples[depth] == 0
    assert httpx.get(f"{server}/metrics", headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 403
