"""The rule counts' grouped SQL on PostgreSQL: the same scenario and answers as on SQLite."""

from __future__ import annotations

from cases.db import session_scope
from tests.rule_stats_fixtures import check_scenario, make_scenario


def test_hits_per_local_day_on_postgresql(prod_env: dict[str, str]) -> None:
    with session_scope() as s:
        make_scenario(s)
        check_scenario(s)
        s.rollback()
