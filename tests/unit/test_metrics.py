"""/metrics: who may read it, and the counters moving after the actions they count (scraped, not read
from the objects)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from cases import jobs
from cases.db import session_scope
from cases.jobnames import JobName
from cases.settings import kernel_settings
from hotline.jobs import wire_jobs
from hotline.metrics import door_channel
from hotline.queues import InProcessQueue
from hotline.settings import reset_settings
from intake.camera.signing import sign
from routing.escalation_sweep import escalate
from tests.console_helpers import DEPARTMENT
from tests.escalation_fixtures import RecordingQueue, at, case_with_clock

TOKEN = "metrics-test-token-0123456789"
GARBAGE = {"channel": "api", "external_id": "m-1", "text": "东门菜市场门口暴露垃圾没人清理", "phone": "138 0013 8000"}


@pytest.fixture
def scrape(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setenv("HOTLINE_METRICS_TOKEN", TOKEN)
    reset_settings()
    yield client


def sample(client: TestClient, name: str, **labels: str) -> float:
    r = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 200, r.text
    for family in text_string_to_metric_families(r.text):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return float(s.value)
    return 0.0


def test_metrics_need_loopback_or_the_token(scrape: TestClient) -> None:
    assert scrape.get("/metrics").status_code == 403  # the test client is not on loopback
    assert scrape.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 403
    assert scrape.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    local = TestClient(scrape.app, client=("127.0.0.1", 50000))
    assert local.get("/metrics").status_code == 200
    # nginx on the same machine relays from loopback, but says whom for: not trusted without the token
    assert local.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 403


def test_intake_counts_created_duplicate_and_refused(scrape: TestClient, api_headers: dict[str, str]) -> None:
    name = "hotline_intake_total"
    before = {o: sample(scrape, name, channel="api", outcome=o) for o in ("created", "duplicate", "refused")}
    assert scrape.post("/api/v1/reports", json=GARBAGE, headers=api_headers).status_code == 202
    assert scrape.post("/api/v1/reports", json=GARBAGE, headers=api_headers).status_code == 200
    assert scrape.post("/api/v1/reports", json={"channel": "api", "text": ""}, headers=api_headers).status_code == 422
    after = {o: sample(scrape, name, channel="api", outcome=o) for o in before}
    assert {o: after[o] - before[o] for o in before} == {"created": 1, "duplicate": 1, "refused": 1}
    assert door_channel("POST", "/open311/v2/requests.json") == "open311"
    assert door_channel("GET", "/api/v1/reports") is None


def test_signature_failures_by_source(scrape: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOTLINE_TWILIO_AUTH_TOKEN", "twilio-test-token")
    reset_settings()
    twilio = sample(scrape, "hotline_webhook_signature_failures_total", source="twilio")
    camera = sample(scrape, "hotline_webhook_signature_failures_total", source="camera")
    scrape.post("/twilio/sms", data={"Body": "x"}, headers={"X-Twilio-Signature": "forged"})
    ts = int(time.time())
    body = b'{"event_id": "e1"}'
    scrape.post(
        "/api/v1/camera-alerts",
        content=body,
        headers={"X-Camera-Id": "no-such-camera", "X-Timestamp": str(ts), "X-Signature": sign("guess", ts, body)},
    )
    assert sample(scrape, "hotline_webhook_signature_failures_total", source="twilio") == twilio + 1
    assert sample(scrape, "hotline_webhook_signature_failures_total", source="camera") == camera + 1
    assert sample(scrape, "hotline_intake_total", channel="sms", outcome="refused") >= 1


def test_sla_breach_counted_once_per_case_by_department(scrape: TestClient) -> None:
    jobs.set_queue(RecordingQueue())
    before = sample(scrape, "hotline_sla_breaches_total", department=DEPARTMENT)
    with session_scope() as s:
        case_with_clock(s, at("2026-11-02", "09:00"))  # 签收 within 1 working hour: due 10:00
    escalate(at("2026-11-02", "09:50"))  # the 80 % warning: not a breach
    assert sample(scrape, "hotline_sla_breaches_total", department=DEPARTMENT) == before
    escalate(at("2026-11-02", "10:00"))  # 催办: overdue
    escalate(at("2026-11-02", "16:00"))  # yellow card: the same breach, not another
    assert sample(scrape, "hotline_sla_breaches_total", department=DEPARTMENT) == before + 1


def test_in_process_queue_depth_age_and_job_timing(scrape: TestClient, env: Path) -> None:
    q = InProcessQueue(kernel_settings().model_copy())
    jobs.set_queue(q)
    seen: list[int] = []
    gate = threading.Event()

    def slow(n: int) -> None:
        gate.wait(10)
        seen.append(n)

    def broken(n: int) -> None:
        raise RuntimeError("broken on purpose")

    functions = {JobName.SWEEP: slow, JobName.FLUSH_DUE: broken}
    jobs.set_job_functions(lambda job: functions[job])
    try:
        runs = sample(scrape, "hotline_job_duration_seconds_count", job="sweep")
        failures = sample(scrape, "hotline_job_failures_total", job="flush_due")
        q.enqueue(JobName.SWEEP, 1)  # taken at once, then waits on the gate
        q.enqueue(JobName.SWEEP, 2)
        q.enqueue(JobName.SWEEP, 3)
        time.sleep(0.3)
        assert sample(scrape, "hotline_queue_depth") == 2
        assert sample(scrape, "hotline_queue_oldest_job_age_seconds") >= 0.2
        gate.set()
        q.join()
        assert seen == [1, 2, 3]
        assert sample(scrape, "hotline_queue_depth") == 0
        assert sample(scrape, "hotline_job_duration_seconds_count", job="sweep") == runs + 3
        q.settings.job_max_attempts = 1
        q.enqueue(JobName.FLUSH_DUE, 1)
        q.join()
        assert sample(scrape, "hotline_job_failures_total", job="flush_due") == failures + 1
    finally:
        q.stop()
        wire_jobs()


def test_rq_jobs_are_timed_by_job_name(scrape: TestClient) -> None:
    import fakeredis
    from rq import Queue, SimpleWorker

    from hotline.jobs import JOBS
    from hotline.metrics import TimedJob

    redis = fakeredis.FakeStrictRedis()
    q = Queue("metrics-test", connection=redis)
    runs = sample(scrape, "hotline_job_duration_seconds_count", job="sweep")
    failures = sample(scrape, "hotline_job_failures_total", job="sweep")
    q.enqueue(JOBS[JobName.SWEEP])  # the report sweeper: nothing to re-enqueue here
    q.enqueue(JOBS[JobName.SWEEP], "an argument it does not take")
    SimpleWorker([q], connection=redis, job_class=TimedJob).work(burst=True)
    assert sample(scrape, "hotline_job_duration_seconds_count", job="sweep") == runs + 2
    assert sample(scrape, "hotline_job_failures_total", job="sweep") == failures + 1


def test_the_grafana_dashboard_reads_only_metrics_we_export(scrape: TestClient) -> None:
    import json
    import re

    from cases.metrics import metrics

    metrics()  # every family declared, with or without samples yet
    r = scrape.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    exported = set(re.findall(r"^# TYPE (\S+) ", r.text, flags=re.M))
    dashboard = json.loads((Path(__file__).parents[2] / "docs/ops/grafana-dashboard.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    used = {re.sub(r"_(bucket|count|sum)$", "", m) for e in exprs for m in re.findall(r"hotline_[a-z_]+", e)}
    assert used and used <= exported, used - exported
