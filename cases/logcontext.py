"""The ids a log line is about. A web request binds its `request_id` (hotline.request_id), a job the ids it
was given (`job_ids`), the pipeline the case it reached; the composition root's log formatter merges
them into every record, stdlib's included (hotline.bootstrap)."""

from __future__ import annotations

import contextvars
import functools
import inspect
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import structlog

P = ParamSpec("P")
R = TypeVar("R")


def job_ids(*names: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """For a job's entry point: its log lines carry these arguments (`@job_ids("report_id")`).

    The job runs in a copy of its caller's log context, so what it binds on the way (the case it
    opened) ends with it and never reaches the next job run by the same worker thread."""

    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        signature = inspect.signature(func)
        unknown = set(names) - set(signature.parameters)
        if unknown:
            raise TypeError(f"{func.__qualname__} has no parameter {', '.join(sorted(unknown))}")

        @functools.wraps(func)
        def run(*args: P.args, **kwargs: P.kwargs) -> R:
            given = signature.bind(*args, **kwargs).arguments
            ids = {name: given[name] for name in names if name in given}

            def bound() -> R:
                with structlog.contextvars.bound_contextvars(**ids):
                    return func(*args, **kwargs)

            return contextvars.copy_context().run(bound)

        return run

    return decorate


def bind_ids(**ids: object) -> None:
    """Add ids learnt during a job (the case a report reached) to its log lines, for the rest of it. An id
    that is None (a notice with no report behind it) is left out rather than logged as `report_id=None`."""
    structlog.contextvars.bind_contextvars(**{name: value for name, value in ids.items() if value is not None})
