"""The working calendar as data: yearly files of the State Council's holidays and 调休 make-up workdays
(`routing/data/calendar/<year>.yaml`), the city's own exceptions, and a supervisor's edits, all in the
`calendar_day` table with a `calendar_change` row per day that changed (who, when, why, before, after).

- `parse_calendar(path_or_doc)` reads and validates a file (pure: no database).
- `import_calendar(session, path_or_doc, editor=, note=)` replaces the year's state_council days with the
  file's and keeps the city's own days unless the file names the same date.
- `set_day` / `clear_day`: a supervisor's edit of one day (source `city`; a note is required).
- `year_view(session, year)`: months of weeks, the year's holidays, make-up workdays, city days, working days.
- `calendar_history(session, year=)`: the changes, newest first.

Use cases flush and never commit. Running processes pick changes up through `routing.calendar`'s digest.
"""

from __future__ import annotations

import calendar as stdlib_calendar
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

import yaml
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from cases.models import utcnow
from cases.settings import kernel_settings
from routing.calendar import calendar_from_days, parse_periods
from routing.models import CalendarChange, CalendarDay, DayKind
from routing.settings import routing_settings
from routing.sla import Periods, WorkingCalendar

SHIPPED_DIR = Path(__file__).parent / "data" / "calendar"
NAME_MAX = 50
NOTE_MAX = 500
EDITOR_MAX = 64


class Source(StrEnum):
    STATE_COUNCIL = "state_council"  # 国务院办公厅's yearly notice
    CITY = "city"  # the city's own exception (a typhoon day off, a half day, a local holiday)


class Status(StrEnum):
    PUBLISHED = "published"  # the State Council's notice for the year
    STATUTORY_ONLY = "statutory_only"  # the notice is not out yet: the statutory days of the regulation only


KIND_ZH = {DayKind.HOLIDAY.value: "休息日", DayKind.WORKDAY.value: "工作日"}
SOURCE_ZH = {Source.STATE_COUNCIL.value: "国务院", Source.CITY.value: "本市"}
WEEKDAY_ZH = ("一", "二", "三", "四", "五", "六", "日")


class CalendarError(ValueError):
    """A calendar file or an edit that cannot be taken; `problems` are the reasons, in Chinese, one each."""

    def __init__(self, problems: list[str] | str) -> None:
        self.problems = [problems] if isinstance(problems, str) else problems
        super().__init__("；".join(self.problems))


# --- the file ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceNotice:
    kind: Source
    title: str
    number: str = ""
    published: date | None = None
    url: str = ""

    def cite(self) -> str:
        return f"{self.title}（{self.number}）" if self.number else self.title


@dataclass(frozen=True)
class DaySpec:
    """One day a file names."""

    day: date
    kind: DayKind
    name: str
    source: Source
    periods: list[list[str]] | None = None
    note: str = ""
    line: int | None = None  # where in the file, for messages


@dataclass(frozen=True)
class CalendarDoc:
    year: int
    status: Status
    source: SourceNotice
    days: tuple[DaySpec, ...]


_TOP_KEYS = {"year", "status", "source", "days"}
_SOURCE_KEYS = {"kind", "title", "number", "date", "url"}
_DAY_KEYS = {"date", "kind", "name", "source", "periods", "note"}


def parse_calendar(path_or_doc: Path | str | Mapping[str, Any]) -> CalendarDoc:
    """A calendar file (a path, or the mapping it holds) checked: the year, the source notice, and every day
    (a date of that year, named once, a known kind and source, a name, periods only on a workday, each
    period ending after it starts and before the next). CalendarError lists every problem found."""
    lines: list[int | None] = []
    label = "文件"
    if isinstance(path_or_doc, Mapping):
        raw: Any = path_or_doc
    else:
        path = Path(path_or_doc)
        label = path.name
        try:
            text = path.read_text(encoding="utf-8")
            raw = yaml.safe_load(text)
            lines = _day_lines(text)
        except OSError as exc:
            raise CalendarError(f"{label}：无法读取（{exc.strerror}）") from exc
        except yaml.YAMLError as exc:
            raise CalendarError(f"{label}：不是有效的 YAML（{' '.join(str(exc).split())}）") from exc
    if not isinstance(raw, Mapping):
        raise CalendarError(f"{label}：应为一个包含 year、source、days 的映射")
    problems: list[str] = []
    unknown = sorted(set(map(str, raw)) - _TOP_KEYS)
    if unknown:
        problems.append(f"{label}：未知的字段 {', '.join(unknown)}")
    year = raw.get("year")
    if not isinstance(year, int) or isinstance(year, bool) or not 1900 <= year <= 2200:
        raise CalendarError([*problems, f"{label}：year 应为年份，如 2026"])
    status = _status(raw.get("status", Status.PUBLISHED.value), label, problems)
    source = _source(raw.get("source"), label, problems)
    days = _days(raw.get("days"), year, source.kind if source else Source.STATE_COUNCIL, lines, label, problems)
    if problems or source is None:
        raise CalendarError(problems or [f"{label}：缺少 source"])
    return CalendarDoc(year=year, status=status, source=source, days=tuple(days))


def _day_lines(text: str) -> list[int | None]:
    """The line of each entry of `days` (1-based), for messages; empty if the layout is not the usual one."""
    try:
        root = yaml.compose(text)
    except yaml.YAMLError:
        return []
    if not isinstance(root, yaml.MappingNode):
        return []
    for key, value in root.value:
        if isinstance(key, yaml.ScalarNode) and key.value == "days" and isinstance(value, yaml.SequenceNode):
            return [item.start_mark.line + 1 for item in value.value]
    return []


def _status(value: Any, label: str, problems: list[str]) -> Status:
    try:
        return Status(value)
    except ValueError:
        problems.append(f"{label}：status 应为 published 或 statutory_only，而不是 {value!r}")
        return Status.PUBLISHED


def _source(value: Any, label: str, problems: list[str]) -> SourceNotice | None:
    if not isinstance(value, Mapping):
        problems.append(f"{label}：source 应写明依据的通知（kind、title、number、date、url）")
        return None
    unknown = sorted(set(map(str, value)) - _SOURCE_KEYS)
    if unknown:
        problems.append(f"{label}：source 中未知的字段 {', '.join(unknown)}")
    try:
        kind = Source(value.get("kind", Source.STATE_COUNCIL.value))
    except ValueError:
        problems.append(f"{label}：source.kind 应为 state_council 或 city")
        kind = Source.STATE_COUNCIL
    title = value.get("title")
    if not isinstance(title, str) or not title.strip():
        problems.append(f"{label}：source.title 应为依据文件的标题")
        title = ""
    published = value.get("date")
    if published is not None and not isinstance(published, date):
        problems.append(f"{label}：source.date 应为日期，如 2025-11-04")
        published = None
    texts = {k: value.get(k) or "" for k in ("number", "url")}
    for k, v in texts.items():
        if not isinstance(v, str):
            problems.append(f"{label}：source.{k} 应为文字")
            texts[k] = ""
    return SourceNotice(kind, title.strip(), texts["number"].strip(), published, texts["url"].strip())


def _days(
    value: Any, year: int, default_source: Source, lines: list[int | None], label: str, problems: list[str]
) -> list[DaySpec]:
    if not isinstance(value, list):
        problems.append(f"{label}：days 应为日期列表")
        return []
    days: list[DaySpec] = []
    seen: dict[date, str] = {}
    for i, item in enumerate(value):
        line = lines[i] if i < len(lines) else None
        where = f"{label}:{line}" if line else f"{label} days[{i}]"
        spec = _day(item, year, default_source, line, where, problems)
        if spec is None:
            continue
        if spec.day in seen:
            problems.append(f"{where}：{spec.day} 重复（已在 {seen[spec.day]}）")
            continue
        seen[spec.day] = where
        days.append(spec)
    return days


def _day(
    item: Any, year: int, default_source: Source, line: int | None, where: str, problems: list[str]
) -> DaySpec | None:
    if not isinstance(item, Mapping):
        problems.append(f"{where}：应为 {{date, kind, name}}")
        return None
    found: list[str] = []
    unknown = sorted(set(map(str, item)) - _DAY_KEYS)
    if unknown:
        found.append(f"未知的字段 {', '.join(unknown)}")
    day = _as_date(item.get("date"))
    if day is None:
        found.append("date 应为日期，如 2026-10-01")
    elif day.year != year:
        found.append(f"{day} 不在 {year} 年")
    try:
        kind = DayKind(str(item.get("kind")))
    except ValueError:
        found.append(f"kind 应为 holiday 或 workday，而不是 {item.get('kind')!r}")
        kind = DayKind.HOLIDAY
    try:
        source = Source(item.get("source", default_source.value))
    except ValueError:
        found.append(f"source 应为 state_council 或 city，而不是 {item.get('source')!r}")
        source = default_source
    name = item.get("name")
    if not isinstance(name, str) or not name.strip():
        found.append("缺少 name（如 国庆节、国庆节调休上班）")
        name = ""
    elif len(name.strip()) > NAME_MAX:
        found.append(f"name 不能超过 {NAME_MAX} 字")
    note = item.get("note") or ""
    if not isinstance(note, str) or len(note) > NOTE_MAX:
        found.append(f"note 应为不超过 {NOTE_MAX} 字的文字")
        note = ""
    periods: list[list[str]] | None = None
    try:
        periods = check_periods(kind, item.get("periods"))
    except CalendarError as exc:
        found.extend(exc.problems)
    if found:
        problems.extend(f"{where}（{day or item.get('date')}）：{p}" for p in found)
        return None
    assert day is not None
    return DaySpec(day, kind, name.strip(), source, periods, note.strip(), line)


def _as_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return None
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def check_periods(kind: DayKind, value: Any) -> list[list[str]] | None:
    """A day's own working periods as stored (["HH:MM", "HH:MM"] pairs), or None for the usual ones.
    Only a workday has periods of its own; a holiday has no working time."""
    if value is None or value == []:
        return None
    if kind != DayKind.WORKDAY:
        raise CalendarError("休息日没有工作时段（工作时段只能设在工作日上）")
    if not isinstance(value, list) or not all(
        isinstance(p, list | tuple) and len(p) == 2 and all(isinstance(t, str) for t in p) for p in value
    ):
        raise CalendarError('periods 应为时段列表，如 [["08:30", "12:00"], ["14:00", "17:30"]]')
    try:
        parsed = parse_periods([(a.strip(), b.strip()) for a, b in value])
    except ValueError as exc:
        raise CalendarError(f"工作时段无效：{_period_problem(exc)}") from None
    return [[a.strftime("%H:%M"), b.strftime("%H:%M")] for a, b in parsed]


def _period_problem(exc: ValueError) -> str:
    text = str(exc)
    if "end after it starts" in text:
        return "结束时间应晚于开始时间"
    if "overlap" in text:
        return "时段重叠或顺序颠倒"
    return "时间应写作 HH:MM，如 08:30"


def parse_periods_text(text: str) -> list[list[str]] | None:
    """What a person types for a day's hours, "08:30-12:00 14:00-17:30" (also with "–", "~", "至", commas,
    "、" or "；" between), as stored periods; blank means the usual hours. CalendarError if unreadable."""
    cleaned = text.strip()
    if not cleaned:
        return None
    for sep in ("，", ",", "、", "；", ";"):
        cleaned = cleaned.replace(sep, " ")
    for dash in ("–", "—", "~", "～", "至", "到"):
        cleaned = cleaned.replace(dash, "-")
    pairs = []
    for part in cleaned.split():
        a, sep, b = part.partition("-")
        if not sep or not a or not b:
            raise CalendarError(f"工作时段「{part[:20]}」应写作 08:30-12:00")
        pairs.append([_hhmm(a), _hhmm(b)])
    return check_periods(DayKind.WORKDAY, pairs)


def _hhmm(typed: str) -> str:
    """8:30 → 08:30 (what people type; the stored form has two digits)."""
    typed = typed.replace("：", ":")
    return f"0{typed}" if len(typed) == 4 and typed[1] == ":" else typed


# --- changing the table ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportResult:
    year: int
    added: int
    changed: int
    removed: int
    unchanged: int
    city_kept: int  # the city's own days the file does not name, left as they were


def _state(row: CalendarDay) -> dict[str, Any]:
    """What a day is, as a change records it before and after."""
    return {"kind": row.kind, "name": row.name, "periods": row.periods, "source": row.source}


def _year_rows(session: Session, year: int) -> dict[date, CalendarDay]:
    rows = session.exec(
        select(CalendarDay).where(CalendarDay.day >= date(year, 1, 1), CalendarDay.day <= date(year, 12, 31))
    )
    return {r.day: r for r in rows}


def _editor(editor: str) -> str:
    editor = editor.strip()
    if not editor or len(editor) > EDITOR_MAX:
        raise CalendarError("缺少修改人")
    return editor


def import_calendar(
    session: Session, path_or_doc: Path | str | Mapping[str, Any] | CalendarDoc, *, editor: str, note: str = ""
) -> ImportResult:
    """Load a year's file into the table. A state_council file replaces that year's state_council days
    (days it no longer names are removed) and leaves the city's own days alone unless it names the same
    date; a city file only adds or changes the days it names. One CalendarChange per day that changed,
    with `note` (default: the source the file cites). Running it again changes nothing."""
    doc = path_or_doc if isinstance(path_or_doc, CalendarDoc) else parse_calendar(path_or_doc)
    editor = _editor(editor)
    note = note.strip()[:NOTE_MAX] or default_note(doc)
    existing = _year_rows(session, doc.year)
    named = {spec.day for spec in doc.days}
    now = utcnow()
    added = changed = unchanged = removed = 0
    for spec in doc.days:
        after = {"kind": spec.kind.value, "name": spec.name, "periods": spec.periods, "source": spec.source.value}
        row = existing.get(spec.day)
        if row is not None and _state(row) == after:
            unchanged += 1
            continue
        before = _state(row) if row is not None else None
        if row is None:
            row = CalendarDay(day=spec.day, kind=spec.kind.value)
            added += 1
        else:
            changed += 1
        row.kind, row.name, row.periods, row.source = spec.kind.value, spec.name, spec.periods, spec.source.value
        row.note, row.editor, row.updated_at = spec.note or note, editor, now
        session.add(row)
        session.add(CalendarChange(at=now, editor=editor, note=note, day=spec.day, before=before, after=after))
    city_kept = 0
    for day, row in existing.items():
        if day in named:
            continue
        if row.source == Source.STATE_COUNCIL.value and doc.source.kind == Source.STATE_COUNCIL:
            session.add(CalendarChange(at=now, editor=editor, note=note, day=day, before=_state(row), after=None))
            session.delete(row)
            removed += 1
        elif row.source == Source.CITY.value:
            city_kept += 1
    session.flush()
    return ImportResult(doc.year, added, changed, removed, unchanged, city_kept)


def default_note(doc: CalendarDoc) -> str:
    """What an import records as its reason when given none: the source the file cites."""
    if doc.status == Status.STATUTORY_ONLY:
        return f"{doc.source.cite()}；仅法定假日，当年调休安排未收录"
    return doc.source.cite()


def shipped_files() -> list[Path]:
    return sorted(SHIPPED_DIR.glob("*.yaml"))


def seed_calendar(session: Session) -> int:
    """The shipped years (routing/data/calendar) into an empty calendar table, so a fresh install knows
    the holidays; a table with any day in it is the city's and is left alone. Days added."""
    if session.exec(select(CalendarDay).limit(1)).first() is not None:
        return 0
    return sum(import_calendar(session, path, editor="system:seed", note="").added for path in shipped_files())


def _note(note: str) -> str:
    note = note.strip()
    if not note:
        raise CalendarError("请填写修改原因")
    if len(note) > NOTE_MAX:
        raise CalendarError(f"修改原因不能超过 {NOTE_MAX} 字")
    return note


def set_day(
    session: Session,
    day: date,
    *,
    kind: DayKind | str | None,
    name: str = "",
    periods: list[list[str]] | None = None,
    editor: str,
    note: str,
) -> CalendarDay | None:
    """A supervisor's edit of one day: a day off (holiday) or a working day (workday, optionally with its
    own hours — a half day), recorded as the city's own (source `city`) with the editor and the required
    note. `kind=None` puts the day back on the weekly pattern (`clear_day`). Returns the day's row (None
    once cleared); an edit that changes nothing records nothing."""
    if kind is None or kind == "":
        clear_day(session, day, editor=editor, note=note)
        return None
    try:
        kind = DayKind(kind)
    except ValueError:
        raise CalendarError("请选择：休息日或工作日") from None
    editor, note = _editor(editor), _note(note)
    name = name.strip()
    if len(name) > NAME_MAX:
        raise CalendarError(f"名称不能超过 {NAME_MAX} 字")
    periods = check_periods(kind, periods)
    after = {"kind": kind.value, "name": name, "periods": periods, "source": Source.CITY.value}
    row = session.get(CalendarDay, day)
    if row is not None and _state(row) == after:
        return row
    before = _state(row) if row is not None else None
    now = utcnow()
    try:
        with session.begin_nested():
            if row is None:
                row = CalendarDay(day=day, kind=kind.value)
            row.kind, row.name, row.periods, row.source = kind.value, name, periods, Source.CITY.value
            row.note, row.editor, row.updated_at = note, editor, now
            session.add(row)
            session.add(CalendarChange(at=now, editor=editor, note=note, day=day, before=before, after=after))
            session.flush()
    except IntegrityError:
        raise CalendarError("这一天刚刚被其他人修改，请刷新页面后重试") from None
    return row


def clear_day(session: Session, day: date, *, editor: str, note: str) -> None:
    """Remove a day's exception: it follows the weekly pattern again (HOTLINE_WORKING_WEEKDAYS/PERIODS).
    A later import of a file that names the day puts the file's day back."""
    editor, note = _editor(editor), _note(note)
    row = session.get(CalendarDay, day)
    if row is None:
        raise CalendarError("这一天没有特别设置，本来就按常规作息")
    session.add(CalendarChange(at=utcnow(), editor=editor, note=note, day=day, before=_state(row), after=None))
    session.delete(row)
    session.flush()


# --- reading it ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DayEntry:
    """A row of the table, as plain values (pages and the CLI use them after the session has ended)."""

    day: date
    kind: str
    name: str
    source: str
    periods: list[list[str]] | None
    note: str
    editor: str
    updated_at: datetime

    @property
    def weekday_zh(self) -> str:
        return "周" + WEEKDAY_ZH[self.day.weekday()]

    @property
    def kind_zh(self) -> str:
        return KIND_ZH.get(self.kind, self.kind)

    @property
    def source_zh(self) -> str:
        return SOURCE_ZH.get(self.source, self.source)

    @property
    def periods_text(self) -> str:
        return " ".join(f"{a}-{b}" for a, b in self.periods or [])


def _entry(row: CalendarDay) -> DayEntry:
    return DayEntry(row.day, row.kind, row.name, row.source, row.periods, row.note, row.editor, row.updated_at)


@dataclass(frozen=True)
class DayCell:
    """One day of a month grid."""

    day: date
    working: bool
    periods: Periods
    entry: DayEntry | None
    usual_day_off: bool  # not a working weekday of the usual week (a weekend)

    @property
    def look(self) -> str:
        """How the page paints it: holiday (red), makeup (a weekend that works), short (own hours),
        city-work (a city's extra working day), off (a usual weekend), work (a usual working day)."""
        if self.entry is None:
            return "off" if self.usual_day_off else "work"
        if self.entry.kind == DayKind.HOLIDAY.value:
            return "holiday"
        if self.entry.periods:
            return "short"
        return "makeup" if self.usual_day_off else "city-work"

    @property
    def hours(self) -> float:
        return (
            sum(
                (datetime.combine(self.day, b) - datetime.combine(self.day, a)).total_seconds() for a, b in self.periods
            )
            / 3600
        )


@dataclass(frozen=True)
class MonthView:
    month: int
    weeks: tuple[tuple[DayCell | None, ...], ...]  # Monday first; None outside the month
    working_days: int


@dataclass(frozen=True)
class YearView:
    year: int
    months: tuple[MonthView, ...]
    holidays: tuple[DayEntry, ...]
    makeup_workdays: tuple[DayEntry, ...]  # working days on a usual day off (调休上班 and the city's own)
    short_days: tuple[DayEntry, ...]  # working days with hours of their own
    city: tuple[DayEntry, ...]  # every day that is the city's own exception
    working_days: int
    has_state_council: bool  # the year's State Council days are loaded
    cited: tuple[str, ...]  # what the year's state_council days cite (their notes), for the page

    @property
    def day_count(self) -> int:
        return 366 if stdlib_calendar.isleap(self.year) else 365

    def cell(self, day: date) -> DayCell | None:
        if day.year != self.year:
            return None
        for week in self.months[day.month - 1].weeks:
            for c in week:
                if c is not None and c.day == day:
                    return c
        return None


def month_grid(year: int, month: int, cal: WorkingCalendar, entries: Mapping[date, DayEntry]) -> MonthView:
    """A month as weeks of day cells, Monday first (pure)."""
    weeks: list[tuple[DayCell | None, ...]] = []
    for week in stdlib_calendar.Calendar(firstweekday=0).monthdatescalendar(year, month):
        weeks.append(tuple(_cell(d, cal, entries) if d.month == month else None for d in week))
    working = sum(1 for w in weeks for c in w if c is not None and c.working)
    return MonthView(month, tuple(weeks), working)


def _cell(d: date, cal: WorkingCalendar, entries: Mapping[date, DayEntry]) -> DayCell:
    return DayCell(d, cal.is_working_day(d), cal.periods_of(d), entries.get(d), d.isoweekday() not in cal.weekdays)


def working_days_in(year: int, cal: WorkingCalendar) -> int:
    day, end, n = date(year, 1, 1), date(year, 12, 31), 0
    while day <= end:
        n += cal.is_working_day(day)
        day += timedelta(days=1)
    return n


def build_year_view(year: int, entries: Iterable[DayEntry], cal: WorkingCalendar) -> YearView:
    """The year view from the year's days and the calendar they make (pure)."""
    by_day = {e.day: e for e in entries if e.day.year == year}
    ordered = [by_day[d] for d in sorted(by_day)]
    usual_off = {d for d in by_day if d.isoweekday() not in cal.weekdays}
    state = [e for e in ordered if e.source == Source.STATE_COUNCIL.value]
    return YearView(
        year=year,
        months=tuple(month_grid(year, m, cal, by_day) for m in range(1, 13)),
        holidays=tuple(e for e in ordered if e.kind == DayKind.HOLIDAY.value),
        makeup_workdays=tuple(e for e in ordered if e.kind == DayKind.WORKDAY.value and e.day in usual_off),
        short_days=tuple(e for e in ordered if e.kind == DayKind.WORKDAY.value and e.periods),
        city=tuple(e for e in ordered if e.source == Source.CITY.value),
        working_days=working_days_in(year, cal),
        has_state_council=bool(state),
        cited=tuple(dict.fromkeys(e.note for e in state if e.note)),
    )


def year_view(session: Session, year: int) -> YearView:
    """The year as the calendar in use counts it: the settings' weekly pattern and the table's days."""
    rows = list(_year_rows(session, year).values())
    cal = calendar_from_days(rows, kernel_settings().timezone)
    return build_year_view(year, [_entry(r) for r in rows], cal)


def day_entry(session: Session, day: date) -> DayEntry | None:
    row = session.get(CalendarDay, day)
    return _entry(row) if row is not None else None


@dataclass(frozen=True)
class ChangeEntry:
    at: datetime
    editor: str
    note: str
    day: date
    before: dict[str, Any] | None
    after: dict[str, Any] | None

    @property
    def summary(self) -> str:
        """Before → after in plain words: "休息日「国庆节」（国务院）→ 工作日（本市）"."""
        return f"{describe_state(self.before)} → {describe_state(self.after)}"


def describe_state(state: Mapping[str, Any] | None) -> str:
    if not state:
        return "按常规作息"
    kind = KIND_ZH.get(str(state.get("kind")), str(state.get("kind")))
    name = f"「{state['name']}」" if state.get("name") else ""
    hours = " ".join(f"{a}-{b}" for a, b in cast(list[list[str]], state.get("periods") or []))
    hours = f" {hours}" if hours else ""
    source = SOURCE_ZH.get(str(state.get("source")), str(state.get("source")))
    return f"{kind}{name}{hours}（{source}）"


@dataclass(frozen=True)
class ChangeGroup:
    """Changes made at once by one editor for one reason: one edit, or one import of many days."""

    at: datetime
    editor: str
    note: str
    changes: tuple[ChangeEntry, ...]

    @property
    def summary(self) -> str:
        if len(self.changes) == 1:
            return self.changes[0].summary
        added = sum(1 for c in self.changes if c.before is None)
        removed = sum(1 for c in self.changes if c.after is None)
        parts = [f"新增 {added} 天" if added else "", f"删除 {removed} 天" if removed else ""]
        changed = len(self.changes) - added - removed
        parts.append(f"修改 {changed} 天" if changed else "")
        return "、".join(p for p in parts if p)


def group_changes(changes: Iterable[ChangeEntry]) -> list[ChangeGroup]:
    """Consecutive changes of the same moment, editor and note as one group (pure; order kept)."""
    groups: list[ChangeGroup] = []
    for c in changes:
        last = groups[-1] if groups else None
        if last is not None and (last.at, last.editor, last.note) == (c.at, c.editor, c.note):
            groups[-1] = ChangeGroup(last.at, last.editor, last.note, (*last.changes, c))
        else:
            groups.append(ChangeGroup(c.at, c.editor, c.note, (c,)))
    return groups


def calendar_history(session: Session, *, year: int | None = None, limit: int = 100) -> list[ChangeEntry]:
    """Changes to the calendar, newest first (of one year's days when `year` is given)."""
    q = select(CalendarChange)
    if year is not None:
        q = q.where(CalendarChange.day >= date(year, 1, 1), CalendarChange.day <= date(year, 12, 31))
    rows = session.exec(q.order_by(col(CalendarChange.at).desc(), col(CalendarChange.id).desc()).limit(limit))
    return [ChangeEntry(r.at, r.editor, r.note, r.day, r.before, r.after) for r in rows]


@dataclass(frozen=True)
class CalendarPage:
    """What the supervisors' calendar page shows: the year, the day being edited, the year's changes."""

    view: YearView
    selected: DayCell | None
    history: list[ChangeGroup]  # newest first; an import is one group
    usual_periods: str


def calendar_page(session: Session, year: int, selected: date | None = None, history_limit: int = 500) -> CalendarPage:
    view = year_view(session, year)
    return CalendarPage(
        view=view,
        selected=view.cell(selected) if selected is not None else None,
        history=group_changes(calendar_history(session, year=year, limit=history_limit)),
        usual_periods=usual_periods_text(),
    )


def city_timezone() -> ZoneInfo:
    return ZoneInfo(kernel_settings().timezone)


def usual_periods_text() -> str:
    """The usual working hours of a day, as the page shows them ("08:30-12:00 14:00-17:30")."""
    periods: tuple[tuple[time, time], ...] = parse_periods(routing_settings().working_periods)
    return " ".join(f"{a:%H:%M}-{b:%H:%M}" for a, b in periods)
