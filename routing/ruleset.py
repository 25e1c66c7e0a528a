"""The rule set a running process routes with: the newest published version in the database, rebuilt when
what it is built from changes.

Its digest is that version number and the codes a rule may name (enabled categories, active departments),
looked at every `HOTLINE_ROUTING_REFRESH_SECONDS` (default 5 s) with the one refresh policy
(`cases.providers.Refreshing`): a version published on one web node routes on every node and worker within
seconds, without a restart. What a version names is checked when it is published and again when a
process builds it: a department deactivated since is refused (logged) and routing goes on with the table
the process had."""

from __future__ import annotations

import hashlib

from sqlalchemy.exc import SQLAlchemyError

from cases import providers
from cases.db import session_scope
from cases.reference import reference_codes
from cases.settings import kernel_settings
from routing.rule_sets import check_references, known_codes, published, spec_of
from routing.rules import RulesError, RuleSetSpec, check_catch_all
from routing.settings import routing_settings


def build_routing_table() -> RuleSetSpec:
    with session_scope() as session:
        rule_set = published(session)
        if rule_set is None:
            raise RulesError("数据库里还没有已发布的路由规则（`hotline db upgrade` 会写入第 1 版）")
        spec = spec_of(session, rule_set)
        # A department deactivated since it was published: refused (logged), the process keeps its table.
        check_references(spec, known_codes(session))
    check_catch_all(spec.rules, f"v{spec.version}")
    return spec


def routing_inputs_digest() -> str | None:
    """Equal digests, same table: the newest published version, the time zone, the codes it may name."""
    try:
        with session_scope() as session:
            rule_set = published(session)
            codes = reference_codes(session)
    except SQLAlchemyError:
        return None  # the database is away for a moment: keep the table in use
    parts = [str(rule_set.version if rule_set else None), kernel_settings().timezone]
    parts += [repr(sorted(codes.categories)), repr(sorted(codes.departments))]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _refreshing() -> providers.Refreshing[RuleSetSpec]:
    return providers.Refreshing(
        "routing table", build_routing_table, routing_inputs_digest, lambda: routing_settings().routing_refresh_seconds
    )


ROUTING_TABLE = providers.Key("routing table", _refreshing)


def routing_table() -> RuleSetSpec:
    return providers.get(ROUTING_TABLE).get()
