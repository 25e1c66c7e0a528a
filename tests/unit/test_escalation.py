"""The escalation ladder as pure data: which steps a clock has reached at a controlled moment, on a
hand-built working calendar (no database, no settings, no clock reads)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from routing.escalation import (
    Ladder,
    LadderError,
    StepAction,
    Target,
    due_steps,
    parse_ladder,
    used_fraction,
)
from routing.sla import TimeLimit, WorkingCalendar, deadline

TZ = ZoneInfo("Asia/Shanghai")
CAL = WorkingCalendar(TZ)  # Monday–Friday, 08:30–12:00 and 14:00–17:30
SHIPPED = Path(__file__).resolve().parents[2] / "routing" / "data" / "escalation.yaml"


def at(day: str, hm: str) -> datetime:
    return datetime.fromisoformat(f"{day}T{hm}").replace(tzinfo=TZ)


@dataclass(frozen=True)
class Clock:
    kind: str
    limit_amount: float
    limit_unit: str
    started_at: datetime
    due_at: datetime | None
    paused_at: datetime | None = None
    stopped_at: datetime | None = None


def clock(kind: str, amount: float, unit: str, start: datetime, cal: WorkingCalendar = CAL) -> Clock:
    return Clock(kind, amount, unit, start, deadline(start, TimeLimit(amount, unit), cal))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def ladder() -> Ladder:
    return parse_ladder(yaml.safe_load(SHIPPED.read_text(encoding="utf-8")), str(SHIPPED))


def names(steps: list) -> list[str]:  # type: ignore[type-arg]
    return [s.name for s in steps]


def test_the_shipped_ladder(ladder: Ladder) -> None:
    assert names(ladder.steps) == ["warn", "urge", "yellow", "red", "verify_late"]
    warn, urge, yellow, red, verify = ladder.steps
    assert (warn.fraction, warn.action, warn.notify) == (0.8, StepAction.WARN, (Target.DUTY, Target.WEBHOOK))
    assert (urge.fraction, urge.action, urge.notify) == (1.0, StepAction.URGE, (Target.HEAD, Target.WEBHOOK))
    assert yellow.after_due == TimeLimit(4, "working_hours") and red.after_due == TimeLimit(2, "working_days")
    assert warn.kinds == urge.kinds == yellow.kinds == red.kinds == frozenset({"sign", "handle"})
    assert verify.kinds == frozenset({"verify"}) and verify.notify == ()
    assert ladder.dispatch_notify == (Target.DUTY, Target.WEBHOOK)


def test_a_sign_clock_climbs_the_ladder_in_working_time(ladder: Ladder) -> None:
    """签收 within 1 working hour from Monday 09:00: due 10:00; 80 % at 09:48; +4 working hours is 16:00
    (the lunch break does not count); +2 working days (14 h) is Wednesday 10:00."""
    c = clock("sign", 1, "working_hours", at("2026-11-02", "09:00"))
    assert c.due_at == at("2026-11-02", "10:00")
    seen = {
        "09:47": [],
        "09:48": ["warn"],
        "10:00": ["warn", "urge"],
        "13:59": ["warn", "urge"],  # 2 working hours late: lunch runs to 14:00
        "15:59": ["warn", "urge"],
        "16:00": ["warn", "urge", "yellow"],
    }
    for hm, expected in seen.items():
        assert names(due_steps(c, ladder, at("2026-11-02", hm), CAL)) == expected, hm
    assert names(due_steps(c, ladder, at("2026-11-04", "09:59"), CAL)) == ["warn", "urge", "yellow"]
    assert names(due_steps(c, ladder, at("2026-11-04", "10:00"), CAL)) == ["warn", "urge", "yellow", "red"]


def test_taken_steps_are_not_due_again(ladder: Ladder) -> None:
    c = clock("handle", 2, "working_days", at("2026-11-02", "09:00"))
    late = at("2026-11-20", "09:00")
    assert names(due_steps(c, ladder, late, CAL, taken={"warn", "urge"})) == ["yellow", "red"]
    assert due_steps(c, ladder, late, CAL, taken={"warn", "urge", "yellow", "red"}) == []


def test_a_paused_or_stopped_clock_takes_no_step(ladder: Ladder) -> None:
    c = clock("handle", 2, "working_days", at("2026-11-02", "09:00"))
    late = at("2026-11-20", "09:00")
    assert due_steps(replace(c, due_at=None, paused_at=at("2026-11-02", "10:00")), ladder, late, CAL) == []
    assert due_steps(replace(c, paused_at=at("2026-11-02", "10:00")), ladder, late, CAL) == []
    assert due_steps(replace(c, stopped_at=at("2026-11-03", "10:00")), ladder, late, CAL) == []


def test_nights_and_weekends_use_no_working_time(ladder: Ladder) -> None:
    """办结 within 1 working day (7 h) from Friday 16:00: 1.5 h on Friday, the rest on Monday (due 16:00)."""
    c = clock("handle", 1, "working_days", at("2026-11-06", "16:00"))
    assert c.due_at == at("2026-11-09", "16:00")
    friday_close = used_fraction(c, at("2026-11-06", "17:30"), CAL)
    assert friday_close == pytest.approx(1.5 / 7)
    assert used_fraction(c, at("2026-11-08", "23:00"), CAL) == pytest.approx(friday_close)  # the weekend
    assert names(due_steps(c, ladder, at("2026-11-09", "14:35"), CAL)) == []
    assert names(due_steps(c, ladder, at("2026-11-09", "14:36"), CAL)) == ["warn"]  # 5.6 h of 7 used


def test_a_holiday_uses_no_working_time() -> None:
    """National Day 2026 (1–7 October off, Saturday 10 October a make-up workday): a clock started on
    30 September runs on after the holiday, and a step is reached on the make-up Saturday."""
    days = {date(2026, 10, d) for d in range(1, 8)}
    cal = WorkingCalendar(TZ, holidays=frozenset(days), workdays=frozenset({date(2026, 10, 10)}))
    c = clock("handle", 3, "working_days", at("2026-09-30", "15:00"), cal)  # 21 working hours
    # 2.5 h on the 30th, 7 h each on the 8th and 9th, 4.5 h on Saturday the 10th: due 10th 15:00.
    assert c.due_at == at("2026-10-10", "15:00")
    assert used_fraction(c, at("2026-10-05", "12:00"), cal) == pytest.approx(2.5 / 21)
    warn_only = parse_ladder({"steps": [{"name": "w", "fraction": 0.8, "action": "warn", "kinds": ["handle"]}]})
    # 80 % = 16.8 h used: 2.5 + 7 + 7 = 16.5 by the end of the 9th, so 0.3 h into Saturday.
    assert due_steps(c, warn_only, at("2026-10-10", "08:47"), cal) == []
    assert names(due_steps(c, warn_only, at("2026-10-10", "08:48"), cal)) == ["w"]


def test_natural_hours_count_the_night(ladder: Ladder) -> None:
    c = clock("handle", 24, "hours", at("2026-11-02", "09:00"))
    assert c.due_at == at("2026-11-03", "09:00")
    assert names(due_steps(c, ladder, at("2026-11-03", "04:11"), CAL)) == []
    assert names(due_steps(c, ladder, at("2026-11-03", "04:12"), CAL)) == ["warn"]


def test_paused_time_is_given_back(ladder: Ladder) -> None:
    """A clock that was paused for a day (补充材料) resumed with what it had left: its due_at moved by the
    pause, and the fraction counts from what is left, not from the start."""
    c = clock("handle", 2, "working_days", at("2026-11-02", "09:00"))
    resumed = replace(c, due_at=c.due_at + timedelta(days=1) if c.due_at else None)  # Tuesday → Wednesday
    now = at("2026-11-03", "16:00")  # 80 % of the unpaused clock is behind us
    assert names(due_steps(c, ladder, now, CAL)) == ["warn"]
    assert due_steps(resumed, ladder, now, CAL) == []


def test_an_extension_delays_the_reminder(ladder: Ladder) -> None:
    c = clock("handle", 1, "working_days", at("2026-11-02", "09:00"))
    extended = replace(c, due_at=deadline(c.due_at, TimeLimit(3, "working_days"), CAL) if c.due_at else None)
    day_after = at("2026-11-03", "10:00")
    assert names(due_steps(c, ladder, day_after, CAL)) == ["warn", "urge"]
    assert due_steps(extended, ladder, day_after, CAL) == []


def test_steps_apply_to_their_clock_kinds(ladder: Ladder) -> None:
    c = clock("verify", 1, "working_days", at("2026-11-02", "09:00"))
    assert names(due_steps(c, ladder, at("2026-11-05", "09:00"), CAL)) == ["verify_late"]
    assert names(due_steps(c, ladder, at("2026-11-03", "10:00"), CAL)) == []


def test_a_zero_limit_is_due_at_once() -> None:
    lad = parse_ladder({"steps": [{"name": "u", "fraction": 1.0, "action": "urge", "kinds": ["sign"]}]})
    start = at("2026-11-02", "09:00")
    c = Clock("sign", 0, "working_hours", start, start)
    assert names(due_steps(c, lad, start, CAL)) == ["u"]
    assert due_steps(c, lad, start - timedelta(seconds=1), CAL) == []


@pytest.mark.parametrize(
    ("step", "message"),
    [
        ({"name": "a", "action": "warn", "kinds": ["sign"]}, "exactly one trigger"),
        ({"name": "a", "action": "warn", "kinds": ["sign"], "fraction": 0.8, "after_due": {}}, "exactly one"),
        ({"name": "a", "action": "shout", "kinds": ["sign"], "fraction": 0.8}, "action must be"),
        ({"name": "a", "action": "warn", "kinds": ["lunch"], "fraction": 0.8}, "kinds must be"),
        ({"name": "a", "action": "warn", "kinds": ["sign"], "fraction": -1}, "fraction must be"),
        ({"name": "a", "action": "warn", "kinds": ["sign"], "after_due": {"amount": 1, "unit": "weeks"}}, "unit"),
        ({"name": "a", "action": "warn", "kinds": ["sign"], "fraction": 0.8, "notify": ["mayor"]}, "notify"),
        ({"name": "a b", "action": "warn", "kinds": ["sign"], "fraction": 0.8}, "name must be"),
        ({"name": "a", "action": "warn", "kinds": ["sign"], "fraction": 0.8, "when": 1}, "unknown keys"),
    ],
)
def test_a_bad_step_is_refused_naming_the_file_and_step(step: dict, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(LadderError, match=message) as caught:
        parse_ladder({"steps": [step]}, "city.yaml")
    assert str(caught.value).startswith("city.yaml: step 1")


def test_step_names_are_unique() -> None:
    step = {"name": "a", "action": "warn", "kinds": ["sign"], "fraction": 0.8}
    with pytest.raises(LadderError, match="unique"):
        parse_ladder({"steps": [step, step]})
    with pytest.raises(LadderError, match="list of steps"):
        parse_ladder({"stairs": []})
