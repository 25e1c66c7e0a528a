"""Each rule's hits per day of the city (oldest first) and its shadow count, on SQLite; the same scenario
runs on PostgreSQL in tests/integration/test_rule_stats_pg.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from cases.db import session_scope
from routing.rule_stats import rule_stats
from tests.rule_stats_fixtures import NOW, check_scenario, make_scenario


def test_hits_per_local_day_and_shadow_counts(env: Path) -> None:
    with session_scope() as s:
        make_scenario(s)
        check_scenario(s)


def test_no_keys_no_query_and_days_are_bounded(env: Path) -> None:
    with session_scope() as s:
        assert rule_stats(s, [], 30, NOW) == {}
        for days in (0, 367):
            with pytest.raises(ValueError):
                rule_stats(s, ["default"], days, NOW)
