"""The one way to start background work: `enqueue_after_commit(session, JobName.X, *ids)`.

Jobs are named (`cases.jobnames.JobName`) and take ids, never objects, so any worker process (or
machine) can run them and running one twice is harmless. Two ports are plugged in by the composition
root: which function runs under each name (`hotline.jobs`), and the queue (`hotline.queues`) — an
in-process thread on the embedded default, RQ on Redis in production.
A failed enqueue (Redis down) is logged and never raised: the row is already committed and the sweeper
enqueues it again later, so nothing accepted is lost.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

from sqlalchemy import event
from sqlmodel import Session

from cases import providers
from cases.jobnames import JobName

log = logging.getLogger(__name__)

_PENDING_KEY = "hotline_jobs_after_commit"


class JobQueue(Protocol):
    def enqueue(self, job: JobName, *args: Any) -> None: ...


# Jobs whose work the sweeper finds again in the database (a report still without a case), so they may be
# handed to the queue without waiting for it: the row committed is the durable record, the job only a
# nudge. Queues that can (RQ: `enqueue_soon`, one Redis pipeline for many requests) take these off the
# request's path; losing one costs HOTLINE_SWEEP_DELAY_SECONDS of latency, never the report.
SWEPT: frozenset[JobName] = frozenset({JobName.PROCESS_REPORT})


JobFunctions = Callable[[JobName], Callable[..., Any]]

QUEUE: providers.Key[JobQueue] = providers.Key("job queue")
# The composition root's lookup of the function that runs under a job name.
JOB_FUNCTIONS: providers.Key[JobFunctions] = providers.Key("job functions")


def set_queue(queue: JobQueue | None) -> None:
    if queue is None:
        providers.reset(QUEUE)
    else:
        providers.install(QUEUE, queue)


def get_queue() -> JobQueue:
    queue = providers.installed(QUEUE)
    if queue is None:
        raise RuntimeError("no job queue configured: the composition root calls cases.jobs.set_queue()")
    return queue


def set_job_functions(job_functions: JobFunctions | None) -> None:
    """The composition root's lookup: the function that runs under a job name."""
    if job_functions is None:
        providers.reset(JOB_FUNCTIONS)
    else:
        providers.install(JOB_FUNCTIONS, job_functions)


def job_function(job: JobName) -> Callable[..., Any]:
    functions = providers.installed(JOB_FUNCTIONS)
    if functions is None:
        raise RuntimeError("no job functions: the composition root calls cases.jobs.set_job_functions()")
    return functions(job)


def run_now(job: JobName, *args: Any) -> Any:
    """Run a job here, in the caller's thread, and return what it returns (the SMS reply needs the case
    number the pipeline opens). Jobs are safe to run twice, so running one that is also queued is fine."""
    return job_function(job)(*args)


def enqueue_now(job: JobName, *args: Any) -> bool:
    """Enqueue outside any transaction. Returns False (and logs) when the queue is unreachable."""
    try:
        get_queue().enqueue(job, *args)
        return True
    except Exception as exc:  # the queue being down must never fail the caller
        log.warning("enqueue of %s%r failed, the sweeper will retry: %s", job, args, exc)
        return False


def _after_commit(session: Session) -> None:
    if session.in_nested_transaction():
        # SQLAlchemy fires after_commit when a SAVEPOINT is released too: the rows are not committed
        # yet, and a job started now would not find them. Wait for the real commit.
        return
    pending: list[tuple[JobName, tuple[Any, ...]]] = session.info.pop(_PENDING_KEY, [])
    for job, args in pending:
        enqueue_committed(job, *args)


def enqueue_committed(job: JobName, *args: Any) -> None:
    """Enqueue a job whose rows are committed: a `SWEPT` one without waiting for the queue where it can."""
    soon = getattr(providers.installed(QUEUE), "enqueue_soon", None) if job in SWEPT else None
    if soon is not None:
        soon(job, *args)
    else:
        enqueue_now(job, *args)


def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING_KEY, None)


def enqueue_after_commit(session: Session, job: JobName, *args: Any) -> None:
    """Run job `job(*args)` in the background once (and only if) this session's transaction commits."""
    if not event.contains(session, "after_commit", _after_commit):
        event.listen(session, "after_commit", _after_commit)
        event.listen(session, "after_rollback", _after_rollback)
    session.info.setdefault(_PENDING_KEY, []).append((job, args))
