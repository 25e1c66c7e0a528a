"""Start-up steps shared by the server, the worker and the demo: logging, schema, reference data."""

from __future__ import annotations

import gc
import logging
import os
import re
from collections.abc import Mapping
from typing import Any, TextIO

import structlog
from sqlmodel import select
from structlog.typing import EventDict, Processor

from cases import providers
from cases.db import session_scope
from cases.models import Category
from cases.seed import seed_reference_data
from cases.settings import KernelSettings
from hotline.migrate import upgrade
from hotline.settings import ServerSettings, server_settings
from routing.calendar_admin import seed_calendar

# Phone numbers as they reach a log line: CN mobiles (+86 / 0086 / 86 prefix, spaces or dashes between
# digit groups), fixed lines with a trunk 0 and an area code, and any other E.164 number. Digits
# around the match are excluded so ids and timestamps stay readable.
_PHONE = re.compile(
    r"(?<![\d*])(?:"
    r"(?:(?:\+|00)?86[-\s]?)?1[3-9]\d(?:[-\s]?\d){8}"
    r"|(?:(?:\+|00)86[-\s]?)?0\d{2,3}[-\s]?\d{7,8}"
    r"|\+\d(?:[-\s]?\d){7,14}"
    r")(?!\d)"
)


def _mask_match(m: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", m.group(0))
    for prefix in ("0086", "86"):
        if digits.startswith(prefix) and len(digits) - len(prefix) >= 10:
            digits = digits[len(prefix) :]
            break
    return f"{digits[:3]}****{digits[-4:]}" if len(digits) > 7 else "****"


def mask_phones(text: str) -> str:
    """Every phone number in `text` masked as the API shows them (138****5678)."""
    return _PHONE.sub(_mask_match, text)


# The track link texted to a reporter (/h5/t/<token>) is their proof of ownership: access logs must not
# hold it either.
_TRACK_TOKEN = re.compile(r"(/h5/t/)[A-Za-z0-9_-]{4,}")


def mask_log_text(text: str) -> str:
    """`text` as a log line may hold it: phone numbers masked, track-link tokens replaced."""
    return mask_phones(_TRACK_TOKEN.sub(r"\1****", text))


def _masked_arg(arg: Any) -> Any:
    if isinstance(arg, str):
        return mask_log_text(arg)
    if arg is None or isinstance(arg, bool | int | float):
        return arg  # %d / %.2f keep working; an int phone is still caught in the rendered message
    shown = str(arg)
    masked = mask_log_text(shown)
    return arg if masked == shown and mask_log_text(repr(arg)) == repr(arg) else masked


def _masked_field(value: Any) -> Any:
    """A structlog event's value: no format string reads it, so a number is masked like text."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        shown = str(value)
        masked = mask_log_text(shown)
        return value if masked == shown else masked
    return _masked_arg(value)


def _masked_dict(event: Mapping[str, Any]) -> dict[str, Any]:
    """A structlog event dict masked key by key and value by value: still a dict, as its renderer needs."""
    return {(mask_log_text(k) if isinstance(k, str) else k): _masked_field(v) for k, v in event.items()}


def _mask_rendered_message(record: logging.LogRecord) -> None:
    """What masking the parts missed, e.g. digits split across arguments."""
    try:
        message = record.getMessage()
        if mask_log_text(message) != message:
            record.msg, record.args = mask_log_text(message), ()
    except (TypeError, ValueError):
        pass  # a malformed call: logging reports it when the record is emitted


def mask_record(record: logging.LogRecord) -> None:
    """Mask phone numbers in a record's message, arguments, traceback and stack, in place. Arguments
    stay arguments: some formatters (uvicorn's access log) read `record.args` themselves; a structlog
    event dict stays a dict (bootstrap's formatter renders it)."""
    if isinstance(record.msg, str):
        record.msg = mask_log_text(record.msg)
    elif isinstance(record.msg, dict):
        record.msg = _masked_dict(record.msg)
    else:
        record.msg = _masked_arg(record.msg)
    if isinstance(record.args, Mapping):
        record.args = {k: _masked_arg(v) for k, v in record.args.items()}
    elif record.args:
        record.args = tuple(_masked_arg(a) for a in record.args)
    if not isinstance(record.msg, dict):
        _mask_rendered_message(record)
    if record.exc_info and not record.exc_text:
        # Formatters reuse exc_text when set; exception messages carry raw input (InvalidPhone, SQL).
        record.exc_text = mask_log_text(logging.Formatter().formatException(record.exc_info))
    if record.exc_text:
        record.exc_text = mask_log_text(record.exc_text)
    if record.stack_info:
        record.stack_info = mask_log_text(record.stack_info)


_base_factory = logging.getLogRecordFactory()


def _masking_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
    record = _base_factory(*args, **kwargs)
    try:
        mask_record(record)
    except Exception:  # an argument whose str() fails: logging must never raise into the caller
        record.msg, record.args = "log message withheld: it could not be checked for phone numbers", ()
        record.exc_info = record.exc_text = record.stack_info = None
    return record


def install_phone_masking() -> None:
    """Every log record of the process, whichever logger or handler (ours, SQLAlchemy, uvicorn, rq,
    structlog through stdlib) and whenever that handler was added, is masked when it is created."""
    if logging.getLogRecordFactory() is not _masking_factory:
        logging.setLogRecordFactory(_masking_factory)


# What every record gets, structlog's and stdlib's alike: the ids bound for this request or job
# (hotline.request_id, cases.logcontext), its level, logger and time.
_SHARED_PROCESSORS: list[Processor] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso"),
]


def _masked_event(_logger: Any, _method: str, event_dict: EventDict) -> EventDict:
    """The last word before rendering: the record was masked when it was created, but a traceback
    rendered here and ids merged from the context were not."""
    return _masked_dict(event_dict)


def log_formatter(log_format: str) -> logging.Formatter:
    """The formatter of the process's log handler: one line per record, readable ('console') or one JSON
    object ('json'), for structlog's records and every stdlib logger's (ours, uvicorn, SQLAlchemy, rq)."""
    renderer: Processor = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if log_format == "json"
        else structlog.dev.ConsoleRenderer(colors=False, exception_formatter=structlog.dev.plain_traceback)
    )
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_SHARED_PROCESSORS,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            _masked_event,
            renderer,
        ],
    )


class _ProcessHandler(logging.StreamHandler[TextIO]):
    """The handler `configure_logging` installs on the root logger (stderr), told apart from a host's."""


def configure_logging(settings: ServerSettings | None = None) -> None:
    """Phone masking, structlog through stdlib, and — unless the host set up logging already (tests, an
    embedding program) — one handler on the root logger in the configured format. Safe to call again:
    the handler it installed takes the new level and format."""
    settings = settings or server_settings()
    install_phone_masking()
    structlog.configure(
        processors=[
            *_SHARED_PROCESSORS,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
    )
    # One line per outbound request drowns the useful log lines.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # Twilio's REST client logs every request's method, URL and headers at INFO.
    logging.getLogger("twilio.http_client").setLevel(logging.WARNING)
    root = logging.getLogger()
    ours = [h for h in root.handlers if isinstance(h, _ProcessHandler)]
    if root.handlers and not ours:
        return
    handler = ours[0] if ours else _ProcessHandler()
    handler.setFormatter(log_formatter(settings.log_format))
    if not ours:
        root.addHandler(handler)
    root.setLevel(settings.log_level.upper())


def serving_process(settings: KernelSettings) -> None:
    """For `hotline serve` and `hotline worker`, before they log or count anything: JSON log lines unless
    HOTLINE_LOG_FORMAT says otherwise (what a log collector reads; the demo stays readable), and the
    directory the processes of this machine share their metrics in (hotline.metrics)."""
    from hotline.metrics import use_multiprocess_dir
    from hotline.settings import SETTINGS

    os.environ.setdefault("HOTLINE_LOG_FORMAT", "json")  # inherited by uvicorn's worker processes
    providers.reset(SETTINGS)
    use_multiprocess_dir(settings)


def freeze_startup_objects() -> None:
    """Call once start-up has loaded what the process keeps (model tables, routes, ORM mappers): moved out
    of the garbage collector's reach, they are no longer walked by every full collection, which otherwise
    lands in the middle of a caller's turn (bench/ivr.py: the p99 tail and the 200–500 ms maxima went away)."""
    gc.freeze()


def prepare_database(force_seed: bool = False) -> dict[str, int]:
    """Upgrade to the newest migration and load reference data (first start, or on request), and the
    shipped working calendar, SLA policies and routing rules (version 1) into empty tables (never over a
    city's own: `--seed` leaves them)."""
    from routing.rule_sets import seed_rule_set
    from routing.rules import RulesError
    from routing.sla_policies import seed_policies

    upgrade()
    counts: dict[str, int] = {}
    with session_scope() as s:
        if force_seed or s.exec(select(Category).limit(1)).first() is None:
            counts = seed_reference_data(s)
        days = seed_calendar(s)
        if days:
            counts["calendar_days"] = days
    with session_scope() as s:
        if policies := seed_policies(s):
            counts["sla_policies"] = policies
    try:
        with session_scope() as s:  # after the policies: a rule may name one
            if rules := seed_rule_set(s):
                counts["routing_rules"] = rules
    except RulesError as exc:
        # Intake stays up and stores reports; the pipeline routes them once a set is published.
        logging.getLogger(__name__).error("routing rules refused: %s", exc)
    return counts
