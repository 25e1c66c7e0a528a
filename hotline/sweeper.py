"""Runs the periodic tasks of `hotline.wiring.PERIODIC` (the report sweeper first). In production one
sweeper works at a time across all worker processes and machines (a Redis lock); embedded, the server
process runs it."""

from __future__ import annotations

import logging
import threading
import time

from redis import Redis

from cases.jobs import run_now
from cases.settings import KernelSettings
from hotline.wiring import PERIODIC

log = logging.getLogger(__name__)
LOCK_KEY = "hotline:sweeper:lock"


def sweep_slot(settings: KernelSettings, now: float | None = None) -> int:
    """The interval of wall-clock time `now` falls in: the fleet sweeps once per slot."""
    return int((time.time() if now is None else now) // max(settings.sweep_interval_seconds, 1))


def take_slot(settings: KernelSettings, redis: Redis) -> int | None:
    """This slot's sweep for this process, or None when another process of the fleet has it. A key per
    slot (not one lock that expires after an interval): processes whose loops are out of step cannot both
    sweep in one interval, however their timers drift."""
    slot = sweep_slot(settings)
    key = f"{LOCK_KEY}:{settings.queue_name}:{slot}"
    taken = redis.set(key, _owner(), nx=True, ex=2 * max(settings.sweep_interval_seconds, 1))
    return slot if taken else None


def _owner() -> str:
    import os
    import socket

    return f"{socket.gethostname()}.{os.getpid()}"


def sweep_once(settings: KernelSettings, redis: Redis | None = None) -> int:
    """Run every periodic task once; returns how many items they took up (reports re-enqueued, deferred
    notices sent)."""
    if redis is not None:
        slot = take_slot(settings, redis)
        if slot is None:
            return 0
        log.debug("sweeping slot %s", slot)  # the fleet-wide test of one sweep per interval reads it
    total = 0
    for task in PERIODIC:
        try:
            n = int(run_now(task) or 0)
        except Exception as exc:  # one failing task must not starve the others
            log.warning("periodic task %s failed: %s", task, exc)
            continue
        if n:
            log.info("%s: %s item(s)", task, n)
        total += n
    return total


def start_sweeper(settings: KernelSettings, redis: Redis | None = None) -> threading.Event:
    """Sweep now and then every interval on a daemon thread. Set the returned event to stop."""
    stop = threading.Event()

    def loop() -> None:
        while True:
            try:
                sweep_once(settings, redis)
            except Exception as exc:  # a database or Redis hiccup must not kill the loop
                log.warning("sweep failed: %s", exc)
            if stop.wait(settings.sweep_interval_seconds):
                return

    threading.Thread(target=loop, name="hotline-sweeper", daemon=True).start()
    return stop
