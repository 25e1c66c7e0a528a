"""`/metrics` for Prometheus: the counters of `cases.metrics`, the job queue measured at scrape time, and
the intake refusals seen at the web doors.

Several processes (`hotline serve --workers N`, and `hotline worker`s on the same machine) share one
PROMETHEUS_MULTIPROC_DIR (`HOTLINE_VAR_DIR/prometheus` unless set): each writes its own files and a
scrape of any web worker adds them all up (prometheus_client's multiprocess mode). Without it (tests, the
demo) the process's own registry is exported.

Only loopback callers that did not come through a proxy, or callers with `Authorization: Bearer
<HOTLINE_METRICS_TOKEN>`, may read it: the figures name departments and the queue's state.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from rq.job import Job
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cases import jobs
from cases.metrics import count_refused, observe_job
from cases.settings import KernelSettings, kernel_settings
from hotline.settings import server_settings

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def use_multiprocess_dir(settings: KernelSettings) -> Path:
    """For `hotline serve` and `hotline worker`, before anything counts: the directory where this
    process and its siblings keep their figures (kept if already set in the environment)."""
    path = Path(os.environ.get(MULTIPROC_ENV) or settings.var_dir / "prometheus")
    path.mkdir(parents=True, exist_ok=True)
    os.environ[MULTIPROC_ENV] = str(path)
    return path


# --- what a scrape measures itself ---------------------------------------------------------------------


class QueueCollector:
    """Depth of the job queue and age of its oldest waiting job, read when Prometheus scrapes: RQ's
    queue in Redis, or this process's in-process queue."""

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        depth, oldest = _queue_state()
        g = GaugeMetricFamily("hotline_queue_depth", "Jobs waiting in the queue.", labels=["queue"])
        age = GaugeMetricFamily(
            "hotline_queue_oldest_job_age_seconds", "Age of the oldest waiting job (0 when empty).", labels=["queue"]
        )
        name = kernel_settings().queue_name
        if depth is not None:
            g.add_metric([name], depth)
            age.add_metric([name], oldest)
        yield g
        yield age


def _queue_state() -> tuple[int | None, float]:
    from hotline.queues import InProcessQueue, RQQueue

    try:
        q = jobs.get_queue()
    except RuntimeError:
        return None, 0.0
    if isinstance(q, InProcessQueue):
        return q.depth(), q.oldest_age()
    if isinstance(q, RQQueue):
        return _rq_state(q)
    return None, 0.0


def _rq_state(q: Any) -> tuple[int | None, float]:
    from redis.exceptions import RedisError
    from rq.job import Job

    try:
        depth = q.queue.count
        first = q.queue.get_job_ids(0, 1)
        job = Job.fetch(first[0], connection=q.connection) if first else None
    except RedisError:
        return None, 0.0  # the gauge is left out of this scrape rather than reported as empty
    if job is None or job.enqueued_at is None:
        return depth, 0.0
    enqueued = job.enqueued_at.timestamp() if job.enqueued_at.tzinfo else _naive_utc(job.enqueued_at)
    return depth, max(time.time() - enqueued, 0.0)


def _naive_utc(moment: Any) -> float:
    from datetime import UTC

    return float(moment.replace(tzinfo=UTC).timestamp())


def exposition() -> tuple[bytes, str]:
    from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest, values
    from prometheus_client.multiprocess import MultiProcessCollector

    registry = CollectorRegistry()
    # What the counters were made with, not the environment now: prometheus_client chose files or memory
    # when it was first imported, and a directory named later holds none of this process's figures.
    if values.ValueClass is not values.MutexValue and os.environ.get(MULTIPROC_ENV):
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        body = generate_latest(registry)
    else:
        body = generate_latest(REGISTRY)
    registry = CollectorRegistry()
    registry.register(QueueCollector())
    return body + generate_latest(registry), CONTENT_TYPE_LATEST


# --- who may read it -----------------------------------------------------------------------------------


def _is_loopback(host: str | None) -> bool:
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def may_read_metrics(request: Request) -> bool:
    token = server_settings().metrics_token
    if token is not None:
        given = request.headers.get("Authorization", "")
        if hmac.compare_digest(given.encode(), f"Bearer {token.get_secret_value()}".encode()):
            return True
    # A request relayed by nginx on the same machine comes from loopback too: its forwarded header says so.
    forwarded = any(h in request.headers for h in ("X-Forwarded-For", "X-Real-IP", "Forwarded"))
    return not forwarded and _is_loopback(request.client.host if request.client else None)


router = APIRouter()


@router.get("/metrics", tags=["ops"], include_in_schema=False)
def metrics_endpoint(request: Request) -> Response:
    if not may_read_metrics(request):
        raise HTTPException(403, "metrics are for loopback or a bearer token")
    body, content_type = exposition()
    return Response(body, media_type=content_type)


# --- refusals at the doors -----------------------------------------------------------------------------

# The POST routes that take reports, by channel (as stored on the report). A 4xx answer there is a report
# refused (bad signature, invalid body or phone, rate limit) before or inside intake.accept.
INTAKE_DOORS: tuple[tuple[str, str], ...] = (
    ("/api/v1/reports", "api"),
    ("/api/v1/camera-alerts", "camera"),
    ("/twilio/sms", "sms"),
    ("/twilio/voice", "voice"),  # the call's first webhook; its later steps add to the same report
    ("/open311/v2/requests", "open311"),
    ("/h5/report", "web"),
)


def door_channel(method: str, path: str) -> str | None:
    if method != "POST":
        return None
    for prefix, channel in INTAKE_DOORS:
        if path == prefix or path.startswith(prefix + "."):  # Open311's requests.json / .xml
            return channel
    return None


class IntakeRefusalMiddleware:
    """Counts `hotline_intake_total{outcome="refused"}`: created and duplicate are counted by accept."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        channel = door_channel(scope.get("method", ""), scope.get("path", "")) if scope["type"] == "http" else None
        if channel is None:
            await self.app(scope, receive, send)
            return

        async def counting(message: Message) -> None:
            if message["type"] == "http.response.start" and 400 <= message["status"] < 500:
                count_refused(channel)
            await send(message)

        await self.app(scope, receive, counting)


# --- jobs run by RQ --------------------------------------------------------------------------------------


def job_label(func_name: str | None) -> str:
    """The job name of an RQ job's dotted path (`hotline.jobs.JOBS`), or the path for a job not in it."""
    from hotline.jobs import JOBS

    for name, path in JOBS.items():
        if path == func_name:
            return name.value
    return func_name or "unknown"


class TimedJob(Job):
    """RQ's job, its run observed: duration and failure by job name (a timeout counts as a failure)."""

    def perform(self) -> Any:
        started = time.monotonic()
        failed = True
        try:
            result = super().perform()
            failed = False
            return result
        finally:
            observe_job(job_label(self.func_name), time.monotonic() - started, failed)
