"""The shipped calendar files (routing/data/calendar) against the `chinesecalendar` package, a test
dependency only: every day of 2025 and 2026 is a working day in our calendar exactly when it is one
there, every holiday and make-up workday is the same date with the same festival's name, and 2027 holds
only the statutory days until the State Council's notice is in the file."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import chinese_calendar
import pytest
from chinese_calendar import constants as cc
from sqlmodel import select

from cases.db import session_scope
from routing.calendar import calendar_from_days, load_calendar
from routing.calendar_admin import SHIPPED_DIR, CalendarDoc, Source, Status, parse_calendar
from routing.models import CalendarDay, DayKind
from routing.sla import WorkingCalendar

SH = "Asia/Shanghai"
# chinesecalendar's English names → the festival our day names start with.
FESTIVALS = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "Mid-autumn Festival": "中秋节",
    "National Day": "国庆节",
}


def _doc(year: int) -> CalendarDoc:
    return parse_calendar(SHIPPED_DIR / f"{year}.yaml")


def _calendar(*years: int) -> WorkingCalendar:
    """The calendar a process counts with, built by the same code from the files' days."""
    rows = [
        CalendarDay(day=d.day, kind=d.kind.value, name=d.name, periods=d.periods, source=d.source.value)
        for y in years
        for d in _doc(y).days
    ]
    return calendar_from_days(rows, SH)


def _days(year: int) -> list[date]:
    d, out = date(year, 1, 1), []
    while d.year == year:
        out.append(d)
        d += timedelta(days=1)
    return out


def test_shipped_years() -> None:
    assert sorted(p.name for p in SHIPPED_DIR.glob("*.yaml")) == ["2025.yaml", "2026.yaml", "2027.yaml"]


@pytest.mark.parametrize("year", [2025, 2026])
def test_every_day_works_exactly_when_chinesecalendar_says(year: int) -> None:
    cal = _calendar(2025, 2026)
    wrong = [
        f"{d} {d:%a}: ours {cal.is_working_day(d)}, chinesecalendar {chinese_calendar.is_workday(d)}"
        for d in _days(year)
        if cal.is_working_day(d) != chinese_calendar.is_workday(d)
    ]
    assert not wrong, "\n".join(wrong)
    assert sum(map(cal.is_working_day, _days(year))) == 248  # both years: 248 working days


@pytest.mark.parametrize("year", [2025, 2026])
def test_holidays_and_make_up_workdays_are_the_same_dates_with_the_same_names(year: int) -> None:
    doc = _doc(year)
    assert doc.status == Status.PUBLISHED and doc.source.kind == Source.STATE_COUNCIL
    ours = {d.day: d for d in doc.days}
    theirs_off = {d: n for d, n in cc.holidays.items() if d.year == year}
    theirs_work = {d: n for d, n in cc.workdays.items() if d.year == year}
    assert {d for d, s in ours.items() if s.kind == DayKind.HOLIDAY} == set(theirs_off)
    assert {d for d, s in ours.items() if s.kind == DayKind.WORKDAY} == set(theirs_work)
    for d, name in theirs_off.items():
        assert ours[d].name == FESTIVALS[name], (d, ours[d].name, name)
    for d, name in theirs_work.items():
        assert ours[d].name.startswith(FESTIVALS[name]), (d, ours[d].name)
        assert ours[d].name.endswith("调休上班") and d.isoweekday() in (6, 7), (d, ours[d].name)


def test_each_published_file_names_its_notice() -> None:
    assert _doc(2025).source.number == "国办发明电〔2024〕12号"
    assert _doc(2025).source.published == date(2024, 11, 12)
    assert _doc(2026).source.number == "国办发明电〔2025〕7号"
    assert _doc(2026).source.published == date(2025, 11, 4)
    for year in (2025, 2026):
        source = _doc(year).source
        assert source.title == f"国务院办公厅关于{year}年部分节假日安排的通知"
        assert source.url.startswith("https://www.gov.cn/zhengce/")


def test_national_day_2026_and_its_make_up_saturday() -> None:
    cal = _calendar(2026)
    assert [cal.is_working_day(date(2026, 10, d)) for d in range(1, 12)] == [
        False, False, False, False, False, False, False,  # 10月1日–7日 国庆节
        True, True,  # Thursday, Friday
        True,  # Saturday 10 October: 调休上班
        False,  # Sunday
    ]  # fmt: skip
    assert cal.is_working_day(date(2026, 9, 20))  # a Sunday that works (国庆节调休上班)
    assert cal.periods_of(date(2026, 10, 10)) == cal.periods  # a make-up day has the usual hours


def test_2027_holds_the_statutory_days_only_until_the_notice_is_published() -> None:
    doc = _doc(2027)
    assert doc.status == Status.STATUTORY_ONLY
    assert doc.source.number == "国务院令第795号"
    assert all(d.kind == DayKind.HOLIDAY for d in doc.days)  # no make-up workday is known before the notice
    assert [(d.day.isoformat(), d.name) for d in doc.days] == [
        ("2027-01-01", "元旦"),
        ("2027-02-05", "春节（除夕）"),  # the 2024 revision: 除夕 and 正月初一至初三
        ("2027-02-06", "春节"),
        ("2027-02-07", "春节"),
        ("2027-02-08", "春节"),
        ("2027-04-05", "清明节"),
        ("2027-05-01", "劳动节"),
        ("2027-05-02", "劳动节"),
        ("2027-06-09", "端午节"),
        ("2027-09-15", "中秋节"),
        ("2027-10-01", "国庆节"),
        ("2027-10-02", "国庆节"),
        ("2027-10-03", "国庆节"),
    ]
    # 清明 is a solar term: chinesecalendar computes those for any year.
    assert chinese_calendar.get_solar_terms(date(2027, 4, 1), date(2027, 4, 10)) == [(date(2027, 4, 5), "清明")]
    # When chinesecalendar learns 2027, the notice is out: write it into 2027.yaml (status: published) and
    # check 2027 like 2025 and 2026 above.
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(date(2027, 1, 4))


def test_a_fresh_database_knows_the_shipped_holidays(env: Path) -> None:
    """prepare_database imported the shipped years into the empty calendar table (the test template is a
    freshly prepared database): the calendar deadlines are counted on agrees with chinesecalendar."""
    with session_scope() as s:
        cal = load_calendar(s)
        sources = set(s.exec(select(CalendarDay.source).distinct()))
    assert sources == {"state_council"}
    for d in _days(2025) + _days(2026):
        assert cal.is_working_day(d) == chinese_calendar.is_workday(d), d
    assert not cal.is_working_day(date(2027, 10, 1))
