"""The back-test over the database (routing.backtest.backtest), on SQLite: the latest ROUTE / CONFIRM
decision of each case in the window is replayed against the draft; the changed cases come with their
number and title. The same scenario runs on PostgreSQL (tests/integration/test_backtest_pg.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cases.db import session_scope
from cases.models import utcnow
from routing.backtest import backtest
from tests.backtest_fixtures import check_backtest, make_cases
from tests.rules_helpers import shipped


def test_a_draft_over_the_last_days(env: Path) -> None:
    with session_scope() as s:
        numbers = make_cases(s)
        check_backtest(s, numbers)


def test_days_are_bounded(env: Path) -> None:
    with session_scope() as s:
        for days in (0, 91):
            with pytest.raises(ValueError):
                backtest(s, shipped(), days, utcnow())
