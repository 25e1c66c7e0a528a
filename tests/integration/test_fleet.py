"""What a fleet of nodes shares through Redis: rate limits counted once across web nodes, and one
sweep per interval however many `hotline worker`s run the sweeper."""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest

from intake.ratelimit import RedisLimiter
from tests.integration.conftest import REDIS_URL, Procs, wait_until

pytestmark = pytest.mark.integration


def test_two_nodes_share_one_rate_limit_on_the_real_redis() -> None:
    node_a, node_b = RedisLimiter(REDIS_URL), RedisLimiter(REDIS_URL)  # as two web processes hold them
    key = f"test:{uuid.uuid4().hex}"
    hits = [node.hit(key, limit=5, window_seconds=3600) for node in [node_a, node_b] * 4]
    assert hits == [True] * 5 + [False] * 3  # the sixth is refused, whichever node took it


def _sweeps(log: Path) -> list[int]:
    slots = []
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue  # RQ's scheduler subprocess prints a plain line or two
        event = str(record.get("event", ""))
        if event.startswith("sweeping slot "):
            slots.append(int(event.rsplit(" ", 1)[1]))
    return slots


def test_two_workers_sweep_once_per_interval(prod_env: dict[str, str], procs: Procs, tmp_path: Path) -> None:
    env = {**prod_env, "HOTLINE_LOG_LEVEL": "DEBUG", "HOTLINE_SWEEP_INTERVAL_SECONDS": "1"}
    env.pop("HOTLINE_LOG_FORMAT", None)  # the worker's own default: JSON lines
    logs = [tmp_path / "worker-a.log", tmp_path / "worker-b.log"]
    workers = [procs.start(["worker"], env, log) for log in logs]
    wait_until(lambda: sum(len(_sweeps(log)) for log in logs) >= 2, 60, "the fleet to have swept")
    time.sleep(5)
    assert all(w.poll() is None for w in workers)  # both ran their sweeper all along
    procs.stop_all()
    every = Counter(slot for log in logs for slot in _sweeps(log))
    assert every and max(every.values()) == 1, every  # no interval swept twice
    first, last = min(every), max(every)
    assert len(every) >= (last - first + 1) - 2, every  # barely an interval without a sweep
