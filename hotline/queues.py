"""Job-queue wiring: which `cases.jobs.JobQueue` runs the jobs in this process.

- No HOTLINE_REDIS_URL (embedded default): `InProcessQueue`, a background thread with retries.
- HOTLINE_REDIS_URL set (production): `RQQueue`; `hotline worker` processes run the jobs.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from redis import Redis
from rq import Queue, Retry

from cases import jobs
from cases.settings import Settings, get_settings
from hotline.wiring import wire_case_hooks

log = logging.getLogger(__name__)


def redis_connection(url: str, blocking: bool = False) -> Redis:
    """Short timeouts for web nodes: intake must answer even when Redis is gone (the sweeper catches up
    later). A worker's connection blocks in BLPOP between jobs, so it gets no read timeout."""
    return Redis.from_url(
        url, socket_connect_timeout=2, socket_timeout=None if blocking else 5, health_check_interval=30
    )


class RQQueue:
    def __init__(self, settings: Settings, blocking: bool = False) -> None:
        assert settings.redis_url
        self.settings = settings
        self.connection = redis_connection(settings.redis_url, blocking)
        self.queue = Queue(settings.queue_name, connection=self.connection)

    def enqueue(self, func_path: str, *args: Any) -> None:
        intervals = self.settings.job_retry_intervals
        self.queue.enqueue(
            func_path,
            *args,
            retry=Retry(max=max(self.settings.job_max_attempts - 1, 0), interval=intervals),
            job_timeout=300,
            failure_ttl=30 * 24 * 3600,
        )


@dataclass
class _Task:
    func_path: str
    args: tuple[Any, ...]
    attempt: int = 1


@dataclass
class InProcessQueue:
    """Runs jobs on one daemon thread in this process, retrying with back-off like RQ would."""

    settings: Settings
    failed: list[tuple[str, tuple[Any, ...], str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._q: queue.Queue[_Task | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="hotline-jobs", daemon=True)
        self._thread.start()

    def enqueue(self, func_path: str, *args: Any) -> None:
        self._q.put(_Task(func_path, args))

    def _retry_later(self, task: _Task) -> None:
        intervals = self.settings.job_retry_intervals or [1]
        delay = intervals[min(task.attempt - 1, len(intervals) - 1)]
        task.attempt += 1
        timer = threading.Timer(delay, self._q.put, args=(task,))
        timer.daemon = True
        timer.start()

    def _run(self) -> None:
        while True:
            task = self._q.get()
            if task is None:
                return
            try:
                jobs.resolve(task.func_path)(*task.args)
            except Exception as exc:
                if task.attempt < self.settings.job_max_attempts:
                    log.warning("job %s%r failed (attempt %s), retrying: %s", task.func_path, task.args,
                                task.attempt, exc)
                    self._retry_later(task)
                else:
                    log.error("job %s%r failed for good: %s", task.func_path, task.args, exc)
                    self.failed.append((task.func_path, task.args, repr(exc)))
            finally:
                self._q.task_done()

    def join(self, timeout: float = 30.0) -> None:
        """Wait until the queue is empty (tests, `hotline demo`)."""
        deadline = time.monotonic() + timeout
        while self._q.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.02)

    def stop(self) -> None:
        self._q.put(None)


class SyncQueue:
    """Runs each job immediately, in the caller's thread (unit tests)."""

    def __init__(self, raise_errors: bool = True) -> None:
        self.raise_errors = raise_errors
        self.ran: list[tuple[str, tuple[Any, ...]]] = []

    def enqueue(self, func_path: str, *args: Any) -> None:
        self.ran.append((func_path, args))
        try:
            jobs.resolve(func_path)(*args)
        except Exception:
            if self.raise_errors:
                raise
            log.exception("job %s%r failed", func_path, args)


def configure_queue(settings: Settings | None = None, worker: bool = False) -> jobs.JobQueue:
    settings = settings or get_settings()
    q: jobs.JobQueue = RQQueue(settings, blocking=worker) if settings.redis_url else InProcessQueue(settings)
    jobs.set_queue(q)
    wire_case_hooks()
    return q
