"""`hotline worker` supervises RQ's work loop: a Redis error that ends the loop (or kills its death
handler) starts it again after a back-off instead of ending the process (issue 12, defect 6)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
import redis.exceptions

from cases.settings import kernel_settings
from hotline import queues


class FlakyWorker:
    """Stands in for rq.SimpleWorker: the first loops die as RQ's do when Redis goes away mid-loop."""

    runs: list[str] = []
    script: list[str] = []

    def __init__(self, queues_: list[Any], connection: Any, **_kw: Any) -> None:
        self._shutdown_requested_date = None
        step = FlakyWorker.script.pop(0) if FlakyWorker.script else "stop"
        if step == "ctor":  # RQ's constructor already talks to Redis
            raise redis.exceptions.ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
        self.step = step

    def work(self, **_kw: Any) -> bool:
        FlakyWorker.runs.append(self.step)
        if self.step == "conn":
            raise redis.exceptions.ConnectionError("Connection closed by server.")
        if self.step == "timeout":
            return False  # RQ: "Redis connection timeout, quitting..." ends the loop without raising
        self._shutdown_requested_date = object()  # "stop": SIGTERM, RQ stops warmly
        return True


class RecordingStop(threading.Event):
    """The supervisor's stop event; its back-off waits are recorded, not slept."""

    def __init__(self) -> None:
        super().__init__()
        self.waits: list[float | None] = []

    def wait(self, timeout: float | None = None) -> bool:
        self.waits.append(timeout)
        return self.is_set()


def test_work_loop_is_restarted_after_redis_errors(
    env: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import rq

    monkeypatch.setenv("HOTLINE_REDIS_URL", "redis://127.0.0.1:1/0")  # nothing listens: beats just fail
    from hotline.settings import reset_settings

    reset_settings()
    monkeypatch.setattr(rq, "SimpleWorker", FlakyWorker)
    FlakyWorker.runs, FlakyWorker.script = [], ["ctor", "conn", "timeout", "stop"]
    settings = kernel_settings()
    sup = queues.WorkerSupervisor(settings, queues.RQQueue(settings, blocking=True))
    monkeypatch.setattr(sup, "_beat", lambda: None)
    sup.stopping = RecordingStop()
    sup.run()
    assert FlakyWorker.runs == ["conn", "timeout", "stop"]
    assert sup.restarts == 3
    assert sup.stopping.waits == [1.0, 2.0, 4.0]  # back-off between restarts
    assert "restarting" in caplog.text and "+86" not in caplog.text


def test_readyz_says_when_the_in_process_job_thread_is_gone(client: Any) -> None:
    from cases import jobs

    q = queues.InProcessQueue(kernel_settings())
    jobs.set_queue(q)
    assert client.get("/readyz").json()["checks"]["queue"] == "in-process"
    q.stop()
    q._thread.join(5)
    r = client.get("/readyz")
    assert r.status_code == 503 and r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["checks"]["queue"] == "not running" and "queue" in r.json()["detail"]
