"""The back-test's streaming query on PostgreSQL (the JSON `outcome.hold` read in SQL, yield_per): the same
scenario and answers as on SQLite."""

from __future__ import annotations

from cases.db import session_scope
from tests.backtest_fixtures import check_backtest, make_cases


def test_a_draft_over_the_last_days_on_postgresql(prod_env: dict[str, str]) -> None:
    with session_scope() as s:
        numbers = make_cases(s)
        s.commit()
    with session_scope() as s:
        check_backtest(s, numbers)
