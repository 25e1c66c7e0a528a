"""Job-queue wiring: which `cases.jobs.JobQueue` runs the jobs in this process.

- No HOTLINE_REDIS_URL (embedded default): `InProcessQueue`, a background thread with retries.
- HOTLINE_REDIS_URL set (production): `RQQueue`; `hotline worker` processes run the jobs
  (`WorkerSupervisor`: a supervised RQ work loop that outlives Redis restarts, and a liveness beat that
  `/readyz` reads; `hotline.worker` starts it).
"""

from __future__ import annotations

import logging
import os
import queue
import signal
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, Retry

from cases import jobs
from cases.jobnames import JobName
from cases.metrics import observe_job
from cases.settings import KernelSettings, kernel_settings
from hotline.jobs import JOBS
from hotline.metrics import TimedJob
from hotline.settings import server_settings

log = logging.getLogger(__name__)


def redis_connection(url: str, blocking: bool = False) -> Redis:
    """Short timeouts for web nodes: intake must answer even when Redis is gone (the sweeper catches up
    later). A worker's connection blocks in BLPOP between jobs, so it gets no read timeout."""
    return Redis.from_url(
        url, socket_connect_timeout=2, socket_timeout=None if blocking else 5, health_check_interval=30
    )


class RQQueue:
    def __init__(self, settings: KernelSettings, blocking: bool = False) -> None:
        assert settings.redis_url
        self.settings = settings
        self.connection = redis_connection(settings.redis_url, blocking)
        self.queue = Queue(settings.queue_name, connection=self.connection)
        self._soon: queue.Queue[tuple[JobName, tuple[Any, ...]]] = queue.Queue()
        self._flusher: threading.Thread | None = None
        self._flusher_lock = threading.Lock()

    def _options(self) -> dict[str, Any]:
        intervals = self.settings.job_retry_intervals
        return {
            "retry": Retry(max=max(self.settings.job_max_attempts - 1, 0), interval=intervals),
            "timeout": 300,
            "failure_ttl": 30 * 24 * 3600,
        }

    def enqueue(self, job: JobName, *args: Any) -> None:
        options = self._options()
        self.queue.enqueue(
            JOBS[job],  # the function's dotted path, as every earlier release stored it
            *args,
            retry=options["retry"],
            job_timeout=options["timeout"],
            failure_ttl=options["failure_ttl"],
        )

    def enqueue_soon(self, job: JobName, *args: Any) -> None:
        """Enqueue from this process's flusher thread, which sends whatever has gathered meanwhile in one
        Redis pipeline; the caller does not wait for Redis. Only for jobs the sweeper finds again in the
        database (`cases.jobs.SWEPT`): if this process dies before the flush, or Redis refuses it, the
        report is still pending and the sweeper enqueues it after HOTLINE_SWEEP_DELAY_SECONDS."""
        if self._flusher is None or not self._flusher.is_alive():  # lazily: a forked child starts its own
            with self._flusher_lock:
                if self._flusher is None or not self._flusher.is_alive():
                    self._flusher = threading.Thread(target=self._flush_loop, name="hotline-enqueue", daemon=True)
                    self._flusher.start()
        self._soon.put((job, args))

    def _flush_loop(self) -> None:
        while True:
            batch = [self._soon.get()]
            while len(batch) < 500:
                try:
                    batch.append(self._soon.get_nowait())
                except queue.Empty:
                    break
            try:
                self.flush(batch)
            finally:
                for _ in batch:
                    self._soon.task_done()

    def flush(self, batch: list[tuple[JobName, tuple[Any, ...]]]) -> None:
        options = self._options()
        try:
            self.queue.enqueue_many([Queue.prepare_data(JOBS[job], args, **options) for job, args in batch])
        except Exception as exc:  # the sweeper takes these up again; never kill the flusher
            log.warning("enqueue of %s job(s) failed, the sweeper will retry: %s", len(batch), _describe(exc))

    def drain_soon(self, timeout: float = 10.0) -> None:
        """Wait until what `enqueue_soon` was given has been sent (tests, an orderly shutdown)."""
        deadline = time.monotonic() + timeout
        while self._soon.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.005)


@dataclass
class _Task:
    job: JobName
    args: tuple[Any, ...]
    attempt: int = 1
    enqueued: float = field(default_factory=time.monotonic)


@dataclass
class InProcessQueue:
    """Runs jobs on one daemon thread in this process, retrying with back-off like RQ would."""

    settings: KernelSettings
    failed: list[tuple[JobName, tuple[Any, ...], str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._q: queue.Queue[_Task | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="hotline-jobs", daemon=True)
        self._thread.start()

    def enqueue(self, job: JobName, *args: Any) -> None:
        self._q.put(_Task(job, args))

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
            started = time.monotonic()
            try:
                jobs.run_now(task.job, *task.args)
                observe_job(task.job.value, time.monotonic() - started, failed=False)
            except Exception as exc:
                observe_job(task.job.value, time.monotonic() - started, failed=True)
                if task.attempt < self.settings.job_max_attempts:
                    log.warning("job %s%r failed (attempt %s), retrying: %s", task.job, task.args, task.attempt, exc)
                    self._retry_later(task)
                else:
                    log.error("job %s%r failed for good: %s", task.job, task.args, exc)
                    self.failed.append((task.job, task.args, repr(exc)))
            finally:
                self._q.task_done()

    def depth(self) -> int:
        return self._q.qsize()

    def oldest_age(self) -> float:
        """Seconds the next job has waited (0 when none waits): a job waiting for its retry is not queued."""
        with self._q.mutex:
            first = next((t for t in self._q.queue if t is not None), None)
        return max(time.monotonic() - first.enqueued, 0.0) if first is not None else 0.0

    def join(self, timeout: float = 30.0) -> None:
        """Wait until the queue is empty (tests, `hotline demo`)."""
        deadline = time.monotonic() + timeout
        while self._q.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.02)

    def stop(self) -> None:
        self._q.put(None)

    def alive(self) -> bool:
        return self._thread.is_alive()


class SyncQueue:
    """Runs each job immediately, in the caller's thread (unit tests)."""

    def __init__(self, raise_errors: bool = True) -> None:
        self.raise_errors = raise_errors
        self.ran: list[tuple[JobName, tuple[Any, ...]]] = []

    def enqueue(self, job: JobName, *args: Any) -> None:
        self.ran.append((job, args))
        try:
            jobs.run_now(job, *args)
        except Exception:
            if self.raise_errors:
                raise
            log.exception("job %s%r failed", job, args)


def configure_queue(settings: KernelSettings | None = None, worker: bool = False) -> jobs.JobQueue:
    settings = settings or kernel_settings()
    q: jobs.JobQueue = RQQueue(settings, blocking=worker) if settings.redis_url else InProcessQueue(settings)
    jobs.set_queue(q)
    return q


# --- `hotline worker`: a supervised work loop ----------------------------------------------------------

WORKERS_KEY = "hotline:workers:"  # + queue name: sorted set, worker name → time of its last beat
BEAT_SECONDS = 5
LIVE_SECONDS = 20  # a worker not heard from for this long is dead (kill -9, machine gone, loop stopped)


def live_workers(redis: Redis, queue_name: str) -> int:
    """How many `hotline worker` processes have a running work loop on this queue (their recent beats)."""
    return int(redis.zcount(WORKERS_KEY + queue_name, time.time() - LIVE_SECONDS, "+inf"))


class WorkerSupervisor:
    """Runs RQ's work loop and starts it again whenever it ends without being asked to.

    RQ retries a failed dequeue, but a Redis error anywhere else in its loop (a heartbeat, a job's
    bookkeeping, maintenance) ends the loop, and its death handler then fails on the same dead
    connection; the process used to exit for good. Here the loop is started again with back-off
    (1, 2, 4 … 30 s), while the sweeper thread and the liveness beat of this process keep running."""

    def __init__(self, settings: KernelSettings, q: RQQueue, burst: bool = False) -> None:
        self.settings = settings
        self.q = q
        self.burst = burst
        self.name = f"{socket.gethostname()}.{os.getpid()}"
        self.stopping = threading.Event()
        self.working = threading.Event()
        self.restarts = 0
        # Beats and the sweeper use short timeouts: a hung Redis must not hang them.
        self.side_connection = redis_connection(settings.redis_url or "")

    def run(self) -> None:
        from rq import SimpleWorker

        threading.Thread(target=self._beat, name="hotline-worker-beat", daemon=True).start()
        backoff = 1.0
        try:
            while not self.stopping.is_set():
                started = time.monotonic()
                w: Any = None
                try:
                    # SimpleWorker runs jobs in this process: no fork per job, the model stays loaded.
                    # (Its constructor already talks to Redis.) Maintenance every minute, not RQ's ten:
                    # it restarts a scheduler process that a Redis outage killed (retries wait on it).
                    w = SimpleWorker(
                        [self.q.queue], connection=self.q.connection, maintenance_interval=60, job_class=TimedJob
                    )
                    self.working.set()
                    w.work(burst=self.burst, with_scheduler=True, logging_level=server_settings().log_level.upper())
                    if self.burst or w._shutdown_requested_date is not None:
                        return  # done, or stopped by SIGTERM/SIGINT (RQ's own handlers)
                    why = "the work loop ended"
                except Exception as exc:
                    why = _describe(exc)
                finally:
                    self.working.clear()
                    self._own_signal_handlers()  # RQ's handlers talk to Redis, which may be gone
                    if w is not None:
                        _stop_scheduler(w)
                if time.monotonic() - started > 60:
                    backoff = 1.0
                self.restarts += 1
                log.warning("worker %s: RQ work loop stopped (%s); restarting in %.0f s", self.name, why, backoff)
                if self.stopping.wait(backoff):
                    return
                backoff = min(backoff * 2, 30.0)
        finally:
            self.stopping.set()
            try:
                self.side_connection.zrem(WORKERS_KEY + self.settings.queue_name, self.name)
            except RedisError:
                pass  # the entry ages out by itself

    def _own_signal_handlers(self) -> None:
        def stop(_signum: int, _frame: Any) -> None:
            self.stopping.set()

        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, stop)
            signal.signal(signal.SIGINT, stop)

    def _beat(self) -> None:
        key = WORKERS_KEY + self.settings.queue_name
        failing = False
        while True:
            try:
                if self.working.is_set():
                    now = time.time()
                    pipe = self.side_connection.pipeline()
                    pipe.zadd(key, {self.name: now})
                    pipe.zremrangebyscore(key, "-inf", now - 24 * 3600)  # long-gone workers
                    pipe.execute()
                if failing:
                    log.info("worker %s: liveness beat reaches Redis again", self.name)
                failing = False
            except RedisError as exc:
                if not failing:  # once per outage, not every few seconds
                    log.warning("worker %s: liveness beat failed: %s", self.name, _describe(exc))
                failing = True
            if self.stopping.wait(BEAT_SECONDS):
                return


def _describe(exc: BaseException) -> str:
    """An error for the log: Redis's own messages name only hosts and ports; anything else is named by
    its type alone, as a job's data (a phone number) may be in its text."""
    return f"{type(exc).__name__}: {exc}" if isinstance(exc, (RedisError, OSError)) else type(exc).__name__


def _stop_scheduler(w: Any) -> None:
    """RQ stops its scheduler process in its teardown, which a dead Redis can cut short."""
    proc = getattr(getattr(w, "scheduler", None), "_process", None)
    if proc is not None and proc.is_alive():
        proc.terminate()
        proc.join(5)
