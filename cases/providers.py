"""Every process-wide value in one registry: settings, engines, the job queue, the classifier, the routing
table, reference names, the rate limiter …

A value is named by a `Key`, which also says how to build it when nobody installed one and how to
close it. The composition root (`hotline.wiring`) builds them when a process starts (app factory,
worker, CLI); everything else asks `get(KEY)`. `reset()` closes and forgets them all: the next `get`
builds each again from the current environment (what a test does after changing it).

`Refreshing` is the one policy for values built from database state a city edits while the system
runs (the classifier, the routing table, reference names): a cheap digest of that state is looked at
no more often than every N seconds, and the value is rebuilt only when the digest changed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True, eq=False)
class Key(Generic[T]):
    """One slot of the registry. Without `build`, the value must be installed before it is asked for."""

    name: str
    build: Callable[[], T] | None = None
    close: Callable[[T], None] | None = None


_lock = threading.RLock()  # re-entrant: building one value may get another (a classifier, its settings)
_values: dict[Key[Any], Any] = {}


def get(key: Key[T]) -> T:
    """The installed value, else the one `key.build` makes now (once per process, whichever thread asks)."""
    try:
        return cast(T, _values[key])
    except KeyError:
        pass
    with _lock:
        if key in _values:
            return cast(T, _values[key])
        if key.build is None:
            raise LookupError(f"{key.name}: nothing installed (the composition root, hotline/, installs it)")
        value = key.build()
        _values[key] = value
        return value


def install(key: Key[T], value: T) -> None:
    """Use `value` from now on; the one it replaces is closed."""
    with _lock:
        old = _values.get(key)
        _values[key] = value
    if old is not None and old is not value:
        _close(key, old)


def installed(key: Key[T]) -> T | None:
    """The value if one was built or installed, without building it."""
    return cast("T | None", _values.get(key))


def reset(*keys: Key[Any]) -> None:
    """Close and forget the values of `keys` (all of them without arguments)."""
    with _lock:
        chosen = list(keys) if keys else list(_values)
        dropped = [(k, _values.pop(k)) for k in chosen if k in _values]
    for key, value in dropped:
        _close(key, value)


def _close(key: Key[Any], value: Any) -> None:
    if key.close is not None:
        try:
            key.close(value)
        except Exception:  # closing one value must not keep the others open
            log.exception("closing %s failed", key.name)


class Refreshing(Generic[T]):
    """A value built from state that changes while the process runs, rebuilt when its digest changes.

    `get()` returns the value it has while that was checked less than `every()` seconds ago (`every()`
    ≤ 0: built once, never checked). Otherwise one thread computes `digest()` and, when it differs from
    the digest the value was built at, builds a new one; the other threads meanwhile keep the value
    they have. Only the very first build makes callers wait. A digest of None (the database is not
    reachable) keeps the value; a rebuild that fails is logged and the old value kept until the next
    check, so a bad edit cannot take a running process down."""

    def __init__(
        self,
        name: str,
        build: Callable[[], T],
        digest: Callable[[], str | None],
        every: Callable[[], float],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self._build, self._digest, self._every, self._clock = build, digest, every, clock
        self._value: T | None = None
        self._state: str | None = None
        self._checked = 0.0
        self._lock = threading.Lock()

    def _fresh(self) -> bool:
        every = self._every()
        return every <= 0 or self._clock() - self._checked < every

    def get(self) -> T:
        current = self._value
        if current is not None and self._fresh():
            return current
        if not self._lock.acquire(blocking=current is None):
            assert current is not None
            return current
        try:
            loaded = self._value
            if loaded is not None and self._fresh():
                return loaded  # another thread built or checked it while this one waited
            state = self._digest()
            if loaded is None:
                loaded = self._build()
                self._value, self._state = loaded, state
            elif state is not None and state != self._state:
                loaded = self._rebuilt(loaded, state)
            self._checked = self._clock()
            return loaded
        finally:
            self._lock.release()

    def _rebuilt(self, old: T, state: str) -> T:
        try:
            new = self._build()
        except Exception:
            log.exception("%s: rebuilding after a change failed; keeping the one in use", self.name)
            return old
        self._value, self._state = new, state
        log.info("%s: rebuilt, its inputs changed", self.name)
        return new
