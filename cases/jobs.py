"""The one way to start background work: `enqueue_after_commit(session, "pkg.module.func", *ids)`.

Jobs are named by dotted path and take ids, never objects, so any worker process (or machine) can run
them and running one twice is harmless. The queue itself is plugged in by the composition root
(`hotline.queues`): an in-process thread on the embedded default, RQ on Redis in production.
A failed enqueue (Redis down) is logged and never raised: the row is already committed and the sweeper
enqueues it again later, so nothing accepted is lost.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from typing import Any, Protocol

from sqlalchemy import event
from sqlmodel import Session

from cases import providers

log = logging.getLogger(__name__)

_PENDING_KEY = "hotline_jobs_after_commit"


class JobQueue(Protocol):
    def enqueue(self, func_path: str, *args: Any) -> None: ...


QUEUE: providers.Key[JobQueue] = providers.Key("job queue")


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


def resolve(func_path: str) -> Callable[..., Any]:
    module, _, name = func_path.rpartition(".")
    func: Callable[..., Any] = getattr(importlib.import_module(module), name)
    return func


def enqueue_now(func_path: str, *args: Any) -> bool:
    """Enqueue outside any transaction. Returns False (and logs) when the queue is unreachable."""
    try:
        get_queue().enqueue(func_path, *args)
        return True
    except Exception as exc:  # the queue being down must never fail the caller
        log.warning("enqueue of %s%r failed, the sweeper will retry: %s", func_path, args, exc)
        return False


def _after_commit(session: Session) -> None:
    pending: list[tuple[str, tuple[Any, ...]]] = session.info.pop(_PENDING_KEY, [])
    for func_path, args in pending:
        enqueue_now(func_path, *args)


def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING_KEY, None)


def enqueue_after_commit(session: Session, func_path: str, *args: Any) -> None:
    """Run `func_path(*args)` in the background once (and only if) this session's transaction commits."""
    if not event.contains(session, "after_commit", _after_commit):
        event.listen(session, "after_commit", _after_commit)
        event.listen(session, "after_rollback", _after_rollback)
    session.info.setdefault(_PENDING_KEY, []).append((func_path, args))
