"""The calendar as data: a year's file is checked before anything is stored, an import replaces the year's
State Council days and keeps the city's own, a supervisor's edit is the city's with a note, and every
changed day leaves a CalendarChange; the year view counts what the calendar in use counts."""

from __future__ import annotations

from datetime import date, time
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, col, select

from cases.db import session_scope
from routing.calendar import load_calendar
from routing.calendar_admin import (
    SHIPPED_DIR,
    CalendarError,
    build_year_view,
    calendar_history,
    clear_day,
    import_calendar,
    month_grid,
    parse_calendar,
    parse_periods_text,
    seed_calendar,
    set_day,
    year_view,
)
from routing.models import CalendarChange, CalendarDay
from routing.sla import WorkingCalendar

HEADER: dict[str, Any] = {
    "year": 2026,
    "source": {"kind": "state_council", "title": "国务院办公厅关于2026年部分节假日安排的通知", "number": "X"},
}


def _doc(*days: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {**HEADER, **top, "days": list(days)}


def _problems(doc: dict[str, Any] | Path) -> list[str]:
    with pytest.raises(CalendarError) as caught:
        parse_calendar(doc)
    return caught.value.problems


# --- validation (no database) --------------------------------------------------------------------------


def test_a_good_document_parses() -> None:
    doc = parse_calendar(
        _doc(
            {"date": date(2026, 10, 1), "kind": "holiday", "name": "国庆节"},
            {"date": "2026-10-10", "kind": "workday", "name": "国庆节调休上班"},
            {
                "date": "2026-12-31",
                "kind": "workday",
                "name": "跨年夜半天",
                "source": "city",
                "periods": [["08:30", "12:00"]],
            },
        )
    )
    assert [(d.day, d.kind.value, d.source.value, d.periods) for d in doc.days] == [
        (date(2026, 10, 1), "holiday", "state_council", None),
        (date(2026, 10, 10), "workday", "state_council", None),
        (date(2026, 12, 31), "workday", "city", [["08:30", "12:00"]]),
    ]


@pytest.mark.parametrize(
    ("day", "said"),
    [
        ({"date": "2025-10-01", "kind": "holiday", "name": "国庆节"}, "不在 2026 年"),
        ({"date": "2026-02-30", "kind": "holiday", "name": "春节"}, "date 应为日期"),
        ({"date": "2026-10-01", "kind": "vacation", "name": "国庆节"}, "kind 应为 holiday 或 workday"),
        ({"date": "2026-10-01", "kind": "holiday"}, "缺少 name"),
        ({"date": "2026-10-01", "kind": "holiday", "name": "国庆节", "source": "province"}, "source 应为"),
        ({"date": "2026-10-01", "kind": "holiday", "name": "国庆节", "perods": []}, "未知的字段 perods"),
        (
            {"date": "2026-10-01", "kind": "holiday", "name": "国庆节", "periods": [["08:30", "12:00"]]},
            "休息日没有工作时段",
        ),
        (
            {"date": "2026-10-10", "kind": "workday", "name": "半天", "periods": [["12:00", "08:30"]]},
            "结束时间应晚于开始时间",
        ),
        (
            {
                "date": "2026-10-10",
                "kind": "workday",
                "name": "半天",
                "periods": [["08:30", "12:00"], ["11:00", "17:00"]],
            },
            "时段重叠或顺序颠倒",
        ),
        ({"date": "2026-10-10", "kind": "workday", "name": "半天", "periods": [["8点半", "12:00"]]}, "HH:MM"),
        ({"date": "2026-10-10", "kind": "workday", "name": "半天", "periods": "08:30-12:00"}, "periods 应为时段列表"),
        ({"date": "2026-10-10", "kind": "workday", "name": "名" * 51}, "name 不能超过 50 字"),
    ],
)
def test_a_bad_day_is_named_in_the_refusal(day: dict[str, Any], said: str) -> None:
    problems = _problems(_doc(day))
    assert len(problems) == 1 and said in problems[0], problems


def test_a_date_twice_and_a_bad_header_are_refused_all_at_once() -> None:
    problems = _problems(
        _doc(
            {"date": "2026-10-01", "kind": "holiday", "name": "国庆节"},
            {"date": "2026-10-01", "kind": "holiday", "name": "国庆节"},
            status="draft",
            extra=1,
        )
    )
    joined = "\n".join(problems)
    assert "重复" in joined and "status 应为 published 或 statutory_only" in joined and "未知的字段 extra" in joined


@pytest.mark.parametrize(
    ("doc", "said"),
    [
        ({"year": "2026", "source": HEADER["source"], "days": []}, "year 应为年份"),
        ({"year": 2026, "days": []}, "source 应写明依据的通知"),
        ({"year": 2026, "source": {"kind": "state_council"}, "days": []}, "source.title"),
        ({"year": 2026, "source": {**HEADER["source"], "date": "去年"}, "days": []}, "source.date 应为日期"),
        ({"year": 2026, "source": HEADER["source"], "days": {"2026-10-01": "holiday"}}, "days 应为日期列表"),
    ],
)
def test_a_bad_header_is_refused(doc: dict[str, Any], said: str) -> None:
    assert any(said in p for p in _problems(doc)), _problems(doc)


def test_a_file_refusal_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "2026.yaml"
    path.write_text(
        "year: 2026\nsource: {kind: state_council, title: 通知}\ndays:\n"
        "  - {date: 2026-10-01, kind: holiday, name: 国庆节}\n"
        "  - {date: 2026-10-02, kind: holday, name: 国庆节}\n",
        encoding="utf-8",
    )
    assert _problems(path) == ["2026.yaml:5（2026-10-02）：kind 应为 holiday 或 workday，而不是 'holday'"]
    path.write_text("year: 2026\ndays: [unclosed\n", encoding="utf-8")
    assert "不是有效的 YAML" in _problems(path)[0]
    assert "无法读取" in _problems(tmp_path / "missing.yaml")[0]


def test_typed_hours() -> None:
    assert parse_periods_text("08:30-12:00 14:00-17:30") == [["08:30", "12:00"], ["14:00", "17:30"]]
    assert parse_periods_text("8:30至12:00，14:00~16:00") == [["08:30", "12:00"], ["14:00", "16:00"]]
    assert parse_periods_text("  ") is None
    for bad in ("上午", "08:30", "12:00-08:30", "08:30-12:00 11:00-13:00"):
        with pytest.raises(CalendarError):
            parse_periods_text(bad)


# --- the table -------------------------------------------------------------------------------------------


def _rows(s: Session, year: int = 2026) -> dict[date, CalendarDay]:
    q = select(CalendarDay).where(CalendarDay.day >= date(year, 1, 1), CalendarDay.day <= date(year, 12, 31))
    return {r.day: r for r in s.exec(q)}


def _changes(s: Session, day: date) -> list[CalendarChange]:
    return list(s.exec(select(CalendarChange).where(CalendarChange.day == day).order_by(col(CalendarChange.id))))


def test_importing_the_shipped_year_again_changes_nothing(env: Path) -> None:
    with session_scope() as s:
        before = len(list(s.exec(select(CalendarChange))))
        result = import_calendar(s, SHIPPED_DIR / "2026.yaml", editor="cli", note="again")
        assert (result.added, result.changed, result.removed, result.unchanged) == (0, 0, 0, 39)
        assert len(list(s.exec(select(CalendarChange)))) == before
        assert seed_calendar(s) == 0  # a table with days in it is the city's: never seeded over


def test_an_import_replaces_the_years_state_council_days_and_keeps_the_citys(env: Path) -> None:
    with session_scope() as s:
        set_day(s, date(2026, 7, 15), kind="holiday", name="防汛停工", editor="supervisor:wang", note="防汛")
        set_day(s, date(2026, 10, 9), kind="holiday", name="本市调休", editor="supervisor:wang", note="试行")
    corrected = _doc(
        {"date": "2026-10-01", "kind": "holiday", "name": "国庆节"},
        {"date": "2026-10-09", "kind": "workday", "name": "国庆节调休上班"},  # names a city day: the file wins
        {"date": "2026-10-10", "kind": "workday", "name": "国庆节调休上班（更正）"},
    )
    with session_scope() as s:
        result = import_calendar(s, corrected, editor="cli", note="更正通知")
        rows = _rows(s)
        assert set(rows) == {date(2026, 7, 15), date(2026, 10, 1), date(2026, 10, 9), date(2026, 10, 10)}
        assert (result.added, result.changed, result.unchanged, result.city_kept) == (0, 2, 1, 1)
        assert result.removed == 37  # the other state_council days of 2026 the file no longer names
        assert rows[date(2026, 7, 15)].source == "city"
        assert (rows[date(2026, 10, 9)].kind, rows[date(2026, 10, 9)].source) == ("workday", "state_council")
        assert _rows(s, 2025) and _rows(s, 2027)  # other years untouched
        gone = _changes(s, date(2026, 10, 2))[-1]
        assert (gone.editor, gone.note, gone.after) == ("cli", "更正通知", None)
        assert gone.before == {"kind": "holiday", "name": "国庆节", "periods": None, "source": "state_council"}
        renamed = _changes(s, date(2026, 10, 10))[-1]
        assert renamed.before is not None and renamed.after is not None
        assert (renamed.before["name"], renamed.after["name"]) == ("国庆节调休上班", "国庆节调休上班（更正）")


def test_a_city_file_only_adds_its_days(env: Path) -> None:
    city = {
        "year": 2026,
        "source": {"kind": "city", "title": "黄州区2026年作息调整"},
        "days": [{"date": "2026-12-31", "kind": "workday", "name": "跨年夜半天", "periods": [["08:30", "12:00"]]}],
    }
    with session_scope() as s:
        result = import_calendar(s, city, editor="cli")
        assert (result.added, result.removed) == (1, 0)
        assert len(_rows(s)) == 40
        cal = load_calendar(s)
    assert cal.periods_of(date(2026, 12, 31)) == ((time(8, 30), time(12, 0)),)


def test_a_supervisors_edit_is_the_citys_with_a_note_and_a_history(env: Path) -> None:
    day = date(2026, 10, 10)
    with session_scope() as s:
        with pytest.raises(CalendarError, match="请填写修改原因"):
            set_day(s, day, kind="holiday", name="台风停工", editor="supervisor:wang", note="  ")
        with pytest.raises(CalendarError, match="休息日没有工作时段"):
            set_day(s, day, kind="holiday", periods=[["08:30", "12:00"]], editor="supervisor:wang", note="x")
        row = set_day(s, day, kind="holiday", name="台风停工", editor="supervisor:wang", note="台风红色预警")
        assert row is not None and (row.kind, row.source, row.editor) == ("holiday", "city", "supervisor:wang")
        set_day(s, day, kind="holiday", name="台风停工", editor="supervisor:wang", note="再点一次保存")  # no change
        assert not load_calendar(s).is_working_day(day)
        clear_day(s, day, editor="supervisor:li", note="预警解除，按常规")
        assert s.get(CalendarDay, day) is None
        assert not load_calendar(s).is_working_day(day)  # a plain Saturday again
        with pytest.raises(CalendarError, match="没有特别设置"):
            clear_day(s, day, editor="supervisor:li", note="再清一次")
        changes = _changes(s, day)
        history = calendar_history(s, year=2026, limit=2)
    assert [(c.editor, c.note) for c in changes[-2:]] == [
        ("supervisor:wang", "台风红色预警"),
        ("supervisor:li", "预警解除，按常规"),
    ]
    assert changes[-2].before == {
        "kind": "workday",
        "name": "国庆节调休上班",
        "periods": None,
        "source": "state_council",
    }
    assert [h.note for h in history] == ["预警解除，按常规", "台风红色预警"]  # newest first
    assert history[0].summary == "休息日「台风停工」（本市） → 按常规作息"
    assert history[1].summary == "工作日「国庆节调休上班」（国务院） → 休息日「台风停工」（本市）"


def test_a_half_day(env: Path) -> None:
    day = date(2026, 12, 31)  # a Thursday
    with session_scope() as s:
        set_day(
            s,
            day,
            kind="workday",
            name="跨年夜半天",
            periods=parse_periods_text("08:30-12:00"),
            editor="supervisor:wang",
            note="市政府通知",
        )
        cal = load_calendar(s)
        view = year_view(s, 2026)
    assert cal.periods_of(day) == ((time(8, 30), time(12, 0)),)
    cell = view.cell(day)
    assert cell is not None and cell.look == "short" and cell.hours == 3.5
    assert [e.day for e in view.short_days] == [day] and [e.day for e in view.city] == [day]
    assert view.working_days == 248  # still a working day, only shorter


def test_the_year_view_of_2026(env: Path) -> None:
    with session_scope() as s:
        view = year_view(s, 2026)
    assert view.working_days == 248 and view.has_state_council
    assert len(view.holidays) == 33 and len(view.makeup_workdays) == 6 and not view.city
    assert view.cited == ("国务院办公厅关于2026年部分节假日安排的通知（国办发明电〔2025〕7号）",)
    october = view.months[9]
    assert october.working_days == 18  # 22 weekdays, 5 of them 国庆节, plus Saturday the 10th
    looks = {c.day.day: c.look for w in october.weeks for c in w if c is not None}
    assert looks[1] == "holiday" and looks[10] == "makeup" and looks[11] == "off" and looks[12] == "work"
    assert october.weeks[0][:3] == (None, None, None)  # 1 October 2026 is a Thursday


def test_a_year_without_state_council_days(env: Path) -> None:
    with session_scope() as s:
        view = year_view(s, 2030)
    assert not view.has_state_council and view.working_days == 261 and not view.holidays


def test_month_grid_is_pure() -> None:
    from zoneinfo import ZoneInfo

    cal = WorkingCalendar(tz=ZoneInfo("Asia/Shanghai"), holidays=frozenset({date(2026, 2, 16)}))
    feb = month_grid(2026, 2, cal, {})
    assert len(feb.weeks) == 5 and feb.weeks[0][6] is not None and feb.weeks[0][6].day == date(2026, 2, 1)
    assert feb.working_days == 19
    assert build_year_view(2026, [], cal).working_days == 260


def test_changes_made_at_once_are_one_group() -> None:
    from datetime import UTC, datetime

    from routing.calendar_admin import ChangeEntry, group_changes

    t1, t2 = datetime(2026, 12, 1, 1, tzinfo=UTC), datetime(2026, 12, 2, 1, tzinfo=UTC)
    holiday = {"kind": "holiday", "name": "国庆节", "periods": None, "source": "state_council"}
    changes = [
        ChangeEntry(t2, "supervisor:wang", "台风", date(2026, 10, 10), None, {**holiday, "source": "city"}),
        ChangeEntry(t1, "cli", "导入", date(2026, 10, 1), None, holiday),
        ChangeEntry(t1, "cli", "导入", date(2026, 10, 2), holiday, None),
        ChangeEntry(t1, "cli", "导入", date(2026, 10, 3), holiday, {**holiday, "name": "国庆"}),
        ChangeEntry(t1, "cli", "导入", date(2026, 10, 4), None, holiday),
    ]
    groups = group_changes(changes)
    assert [len(g.changes) for g in groups] == [1, 4]
    assert groups[0].summary == "按常规作息 → 休息日「国庆节」（本市）"
    assert groups[1].summary == "新增 2 天、删除 1 天、修改 1 天"
