"""Start-up steps shared by the server, the worker and the demo: schema, reference data, queue."""

from __future__ import annotations

import gc
import logging

import structlog
from sqlmodel import select

from cases.db import session_scope
from cases.migrate import upgrade
from cases.models import Category
from cases.seed import seed_reference_data
from cases.settings import Settings, get_settings


def configure_logging(settings: Settings | None = None) -> None:
    settings = settings or get_settings()
    logging.basicConfig(level=settings.log_level.upper(), format="%(message)s")
    # One line per outbound request drowns the useful log lines.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    structlog.configure(
        processors=[
            structlog.stdlib.add_log_level,
            structlog.processors.TimeStamper(fmt="iso"),
            structlog.dev.ConsoleRenderer(colors=False),
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
    )


def freeze_startup_objects() -> None:
    """Call once start-up has loaded what the process keeps (model tables, routes, ORM mappers): moved out
    of the garbage collector's reach, they are no longer walked by every full collection, which otherwise
    lands in the middle of a caller's turn (bench/ivr.py: the p99 tail and the 200–500 ms maxima went away)."""
    gc.freeze()


def prepare_database(force_seed: bool = False) -> dict[str, int]:
    """Upgrade to the newest migration and load reference data (first start, or on request)."""
    upgrade()
    with session_scope() as s:
        if force_seed or s.exec(select(Category).limit(1)).first() is None:
            return seed_reference_data(s)
    return {}
