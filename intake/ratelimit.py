"""Fixed-window rate limits: Redis when HOTLINE_REDIS_URL is set (shared by every web node), otherwise a
counter in this process (the embedded single-node default).

Fixed windows are coarse (a burst at a window edge can pass twice the limit) but need one INCR per
check, and the limits here only have to stop floods, not meter fairly.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Protocol

from cases import providers
from cases.settings import kernel_settings


class Limiter(Protocol):
    def hit(self, key: str, limit: int, window_seconds: int) -> bool:
        """Count one event for `key`; False when this one is over the limit."""
        ...


class MemoryLimiter:
    def __init__(self) -> None:
        self._counts: dict[tuple[str, int], int] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, limit: int, window_seconds: int) -> bool:
        window = int(time.time() // window_seconds)
        with self._lock:
            if len(self._counts) > 50_000:  # forget old windows now and then
                self._counts = {k: v for k, v in self._counts.items() if k[1] >= window - 1}
            n = self._counts.get((key, window), 0) + 1
            self._counts[(key, window)] = n
        return n <= limit


class RedisLimiter:
    def __init__(self, url: str) -> None:
        from redis import Redis

        self._redis: Any = Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)

    def hit(self, key: str, limit: int, window_seconds: int) -> bool:
        window = int(time.time() // window_seconds)
        rkey = f"hotline:rl:{key}:{window}"
        try:
            pipe = self._redis.pipeline()
            pipe.incr(rkey)
            pipe.expire(rkey, window_seconds + 5)
            n = int(pipe.execute()[0])
        except Exception:
            return True  # Redis down: let residents report rather than lock everybody out
        return n <= limit


def _limiter() -> Limiter:
    redis_url = kernel_settings().redis_url
    return RedisLimiter(redis_url) if redis_url else MemoryLimiter()


LIMITER = providers.Key("rate limiter", _limiter)


def get_limiter() -> Limiter:
    return providers.get(LIMITER)


def reset_limiter() -> None:
    """Forget all in-process counts (tests)."""
    providers.reset(LIMITER)
