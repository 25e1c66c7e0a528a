"""The process's Prometheus metrics, counted where things happen (intake, jobs, SLA clocks, webhook doors)
and exported by the composition root (`hotline.metrics`, `/metrics`).

Here in the kernel so that every package may count without importing the composition root. The metric
objects are made on first use, not at import: `prometheus_client` picks its storage (in memory, or files
under PROMETHEUS_MULTIPROC_DIR shared by several processes) when it is first imported, and `hotline
serve` / `hotline worker` set that directory only once they know they are serving.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ParamSpec, Protocol, TypeVar

if TYPE_CHECKING:
    from prometheus_client import Counter, Histogram

P = ParamSpec("P")

# Seconds a job may take; the pipeline is sub-second, an outbound call or a dashboard refresh longer.
JOB_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)


class _Metrics:
    def __init__(self) -> None:
        from prometheus_client import Counter, Histogram

        self.intake: Counter = Counter(
            "hotline_intake_total", "Reports offered to intake, by channel and outcome.", ["channel", "outcome"]
        )
        self.job_seconds: Histogram = Histogram(
            "hotline_job_duration_seconds", "Time a job ran, by job name.", ["job"], buckets=JOB_BUCKETS
        )
        self.job_failures: Counter = Counter(
            "hotline_job_failures_total", "Job runs that raised, by job name.", ["job"]
        )
        self.sla_breaches: Counter = Counter(
            "hotline_sla_breaches_total", "Cases whose SLA clock went overdue, by department.", ["department"]
        )
        self.signature_failures: Counter = Counter(
            "hotline_webhook_signature_failures_total", "Webhooks refused for their signature, by source.", ["source"]
        )


@functools.cache
def metrics() -> _Metrics:
    return _Metrics()


class _Accepted(Protocol):
    @property
    def created(self) -> bool: ...

    @property
    def report(self) -> Any: ...


A = TypeVar("A", bound=_Accepted)


def counted_intake(accept: Callable[P, A]) -> Callable[P, A]:
    """For `intake.core.accept`: counts each report as created or duplicate by its channel, and binds its
    `report_id` to the log lines of the rest of the request or job."""
    from cases.logcontext import bind_ids

    @functools.wraps(accept)
    def run(*args: P.args, **kwargs: P.kwargs) -> A:
        accepted = accept(*args, **kwargs)
        report = accepted.report
        count_intake(report.channel, accepted.created)
        bind_ids(report_id=report.id)
        return accepted

    return run


def count_intake(channel: str, created: bool) -> None:
    """One report offered to intake: stored (created) or the one its external id already made."""
    metrics().intake.labels(channel, "created" if created else "duplicate").inc()


def count_refused(channel: str) -> None:
    metrics().intake.labels(channel, "refused").inc()


def count_sla_breach(department: str | None) -> None:
    metrics().sla_breaches.labels(department or "none").inc()


def count_signature_failure(source: str) -> None:
    metrics().signature_failures.labels(source).inc()


def observe_job(job: str, seconds: float, failed: bool) -> None:
    m = metrics()
    m.job_seconds.labels(job).observe(seconds)
    if failed:
        m.job_failures.labels(job).inc()
