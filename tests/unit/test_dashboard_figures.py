"""The dashboard's figures on SQLite: the per-day aggregates equal a direct computation over the same
range, and both equal an independent count from the rows; the refresh recomputes only days that changed
and a second run changes nothing; the rates' maths."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func
from sqlmodel import col, select

from cases.db import session_scope
from cases.lifecycle import Action
from cases.models import Case, CaseEvent
from cases.service import apply_action
from routing.dashboard import facts as F
from routing.dashboard import read
from routing.dashboard.models import DashIntakeDay, DashRefresh
from routing.dashboard.rates import RATE_BY_KEY, RATES, Counters, percent, ratio, total
from routing.dashboard.refresh import refresh
from tests.dashboard_fixtures import START, independent_count, make_history, stored_intake, stored_rates

NOW = START + timedelta(days=25)


def test_rates_divide_their_own_parts_and_say_nothing_when_nothing_was_counted() -> None:
    c = Counters(dispatched=10, sign_met=6, sign_late=2, handle_met=3, handle_late=1, returned=2, reopened=1,
                 extended=4, rated=5, satisfied=4)  # fmt: skip
    assert RATE_BY_KEY["sign"].of(c) == 6 / 8
    assert RATE_BY_KEY["handle"].of(c) == 3 / 4
    assert RATE_BY_KEY["satisfaction"].of(c) == 4 / 5
    assert RATE_BY_KEY["return"].of(c) == 2 / 10
    assert RATE_BY_KEY["reopen"].of(c) == 1 / 4
    assert RATE_BY_KEY["extension"].of(c) == 4 / 10
    assert all(r.of(Counters()) is None for r in RATES)
    assert ratio(0, 0) is None and percent(None) == "—" and percent(0.9634) == "96.3%"
    both = total([c, c])
    assert both.sign_met == 12 and RATE_BY_KEY["sign"].of(both) == RATE_BY_KEY["sign"].of(c)
    assert c.late == 3


def test_roll_up_puts_a_grid_in_its_community_and_street() -> None:
    rows = [("421102001001001", "06", "sms", 2), ("421102001001002", "06", "voice", 1), (None, None, None, 1)]
    up = F.roll_up_intake(rows)
    assert up["street", "421102001"] == 3 and up["community", "421102001001"] == 3
    assert up["grid", "421102001001001"] == 2 and up["channel", ""] == 1 and up["group", "06"] == 3
    assert sum(n for (d, _), n in up.items() if d == "grid") == 4


def test_the_aggregates_equal_a_direct_computation_and_anindependent_count(env: Path) -> None:
    with session_scope() as s:
        make_history(s)
    with session_scope() as s:
        days = refresh(s, now=NOW, grace_seconds=0)
        assert days is not None and days >= 20
    with session_scope() as s:
        far = datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)
        direct = F.facts(s, *far)
        assert stored_intake(s) == Counter(direct.intake)
        assert stored_rates(s) == direct.rates
        channels, per_department = independent_count(s)
        assert {k: n for (d, k), n in direct.intake.items() if d == "channel"} == dict(channels)
        assert {k: c for (d, k), c in direct.rates.items() if d == "department"} == per_department
        # the history has every kind of fact, or the equalities above prove little
        every = total(per_department.values())
        assert every.sign_met and every.sign_late and every.handle_met and every.handle_late
        assert every.returned and every.reopened and every.extended and every.yellow and every.red
        assert every.rated > every.satisfied > 0
        assert sum(channels.values()) == s.exec(select(func.count()).select_from(Case)).one()


def test_the_dashboard_period_adds_the_stored_days_to_todays_live_figures(env: Path) -> None:
    with session_scope() as s:
        make_history(s, days=20)
    now = START + timedelta(days=12)  # part of the history is "today" and the future: only up to now counts
    with session_scope() as s:
        refresh(s, now=now, grace_seconds=0)
    with session_scope() as s:
        from cases.access import EVERYONE

        page = read.dashboard(s, EVERYONE, 7, now=now)
        start, _ = F.day_bounds(F.local_day(now) - timedelta(days=6))
        direct = F.facts(s, start, now)
        by_channel = {r.key: r.counts[7] for r in page.intake[0].rows}
        assert by_channel == {k: n for (d, k), n in direct.intake.items() if d == "channel" and n}
        assert {r.key: r.counters for r in page.departments} == {
            k: c for (d, k), c in direct.rates.items() if d == "department"
        }
        assert sum(n for _, n in page.daily) == sum(by_channel.values())
        assert len(page.daily) == 7
        today_start, _ = F.day_bounds(F.local_day(now))
        assert page.intake[0].rows and all(
            r.counts[1] == F.facts(s, today_start, now).intake.get(("channel", r.key), 0) for r in page.intake[0].rows
        )


def test_a_refresh_recomputes_only_the_days_of_the_cases_that_changed(env: Path) -> None:
    with session_scope() as s:
        ids = make_history(s, cases=30, days=15)
    with session_scope() as s:
        refresh(s, now=NOW, grace_seconds=0)
    with session_scope() as s:
        assert refresh(s, now=NOW, grace_seconds=0) == 0  # nothing new: no day recomputed
        before = stored_rates(s)
    # An old case is escalated now: its days are recomputed (its creation day's figures keep their value)
    with session_scope() as s:
        case = next(c for c in (s.get(Case, i) for i in ids) if c is not None and c.status == "in_progress")
        apply_action(s, case, Action.ESCALATE, "supervisor:zhang", reason="人工督办", supervision="red", at=NOW)
        dept = case.department_code or ""
        created_day = F.local_day(case.created_at)
    with session_scope() as s:
        n = refresh(s, now=NOW, grace_seconds=0)
        assert n is not None and 1 <= n <= 15
        after = stored_rates(s)
        assert after["department", dept].red == before["department", dept].red + 1
        assert s.exec(select(func.count()).select_from(DashIntakeDay).where(DashIntakeDay.day == created_day)).one()


def test_the_watermark_waits_for_events_younger_than_the_grace(env: Path) -> None:
    with session_scope() as s:
        make_history(s, cases=5, days=2)
    with session_scope() as s:
        refresh(s, now=START, grace_seconds=3600)  # every event is after START: none settled yet
        state = s.get(DashRefresh, 1)
        assert state is not None and state.last_event_id == 0
    with session_scope() as s:
        refresh(s, now=NOW, grace_seconds=0)
        state = s.get(DashRefresh, 1)
        last = s.exec(select(func.max(col(CaseEvent.id)))).one()
        assert state is not None and state.last_event_id == last
