"""The dashboard's aggregates on the real PostgreSQL: they equal a direct computation and an independent
count of the rows, and refreshes run by several workers at once leave each day's rows exactly once (one
refresh holds the bookkeeping row, the others skip this round)."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, update

from cases.db import session_scope
from routing.dashboard import facts as F
from routing.dashboard.models import DashIntakeDay, DashRateDay, DashRefresh
from routing.dashboard.refresh import refresh
from tests.dashboard_fixtures import START, independent_count, make_history, stored_intake, stored_rates

pytestmark = pytest.mark.integration

NOW = START + timedelta(days=25)


@pytest.fixture
def history(prod_env: dict[str, str]) -> None:
    from hotline.wiring import wire_observers

    wire_observers()
    with session_scope() as s:
        s.execute(delete(DashIntakeDay))
        s.execute(delete(DashRateDay))
        s.execute(update(DashRefresh).values(last_event_id=0))
        make_history(s, cases=80)


def test_the_aggregates_equal_a_direct_computation_on_postgresql(history: None) -> None:
    results: list[int | None] = []
    barrier = threading.Barrier(3)

    def worker() -> None:
        barrier.wait()
        with session_scope() as s:
            results.append(refresh(s, now=NOW, grace_seconds=0))

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(results) == 3 and any(r for r in results), results
    with session_scope() as s:
        far = datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)
        direct = F.facts(s, *far)
        assert stored_intake(s) == Counter(direct.intake)
        assert stored_rates(s) == direct.rates
        channels, per_department = independent_count(s)
        assert {k: n for (d, k), n in direct.intake.items() if d == "channel"} == dict(channels)
        assert {k: c for (d, k), c in direct.rates.items() if d == "department"} == per_department
        assert sum(c.rated for c in per_department.values()) > 0
