"""Runs `routing.pipeline.sweep` periodically. In production one sweeper works at a time across all
worker processes and machines (a Redis lock); embedded, the server process runs it."""

from __future__ import annotations

import logging
import threading

from redis import Redis

from cases.settings import Settings
from routing.pipeline import sweep

log = logging.getLogger(__name__)
LOCK_KEY = "hotline:sweeper:lock"


def sweep_once(settings: Settings, redis: Redis | None = None) -> int:
    if redis is not None:
        # Only one sweeper per interval across the fleet; the lock expires by itself.
        if not redis.set(LOCK_KEY, "1", nx=True, ex=max(settings.sweep_interval_seconds - 1, 1)):
            return 0
    n = sweep()
    if n:
        log.info("sweeper enqueued %s report(s) without a case", n)
    return n


def start_sweeper(settings: Settings, redis: Redis | None = None) -> threading.Event:
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
