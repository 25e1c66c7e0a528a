"""The routing table a running process routes with, rebuilt when what it is built from changes.

Its inputs are the rules file and the codes a rule may name (enabled matter categories, active
departments: a rule naming one that does not exist is refused when the table is built). They are looked
at every `HOTLINE_ROUTING_REFRESH_SECONDS` with the one refresh policy (`cases.providers.Refreshing`), so a
disabled department or an edited rules file reaches every node without a restart; database-backed rule
sets will put their version into the same digest.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from cases import providers
from cases.db import session_scope
from cases.reference import reference_codes
from cases.settings import kernel_settings
from routing.rules import DEFAULT_RULES, RoutingTable, load_rules
from routing.settings import routing_settings


def _rules_path() -> Path:
    return routing_settings().routing_rules_path or DEFAULT_RULES


def build_routing_table() -> RoutingTable:
    with session_scope() as session:  # a rule naming a department or category that does not exist is refused
        reference = reference_codes(session)
    return load_rules(_rules_path(), reference)


def routing_inputs_digest() -> str | None:
    """Equal digests, same table: the rules file (its path and bytes), the time zone, the codes it may name."""
    path = _rules_path()
    try:
        rules = path.read_bytes()
        with session_scope() as session:
            codes = reference_codes(session)
    except (OSError, SQLAlchemyError):
        return None  # the file or the database is away for a moment: keep the table in use
    parts = [str(path), hashlib.sha256(rules).hexdigest(), kernel_settings().timezone]
    parts += [repr(sorted(codes.categories)), repr(sorted(codes.departments))]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _refreshing() -> providers.Refreshing[RoutingTable]:
    return providers.Refreshing(
        "routing table", build_routing_table, routing_inputs_digest, lambda: routing_settings().routing_refresh_seconds
    )


ROUTING_TABLE = providers.Key("routing table", _refreshing)


def routing_table() -> RoutingTable:
    return providers.get(ROUTING_TABLE).get()
