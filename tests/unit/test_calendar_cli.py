"""`hotline calendar import|show` and `hotline sla deadline`, through Typer's runner on the test database
(and once as a subprocess, as an operator runs it)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from cases.db import session_scope
from hotline.cli import app as cli
from routing.models import CalendarChange, CalendarDay

runner = CliRunner()
REPO = Path(__file__).resolve().parents[2]


def test_show_a_year(env: Path) -> None:
    out = runner.invoke(cli, ["calendar", "show", "2026"])
    assert out.exit_code == 0, out.output
    text = out.output
    assert "国务院办公厅关于2026年部分节假日安排的通知（国办发明电〔2025〕7号）" in text
    assert "2026-10-10" in text and "国庆节调休上班" in text and "2026-10-07" in text
    assert "city exceptions: none" in text
    assert text.strip().splitlines()[-1] == "2026: 248 working days of 365"


def test_show_a_year_nothing_was_imported_for(env: Path) -> None:
    out = runner.invoke(cli, ["calendar", "show", "2031"])
    assert out.exit_code == 0, out.output
    assert "no State Council days loaded" in out.output
    assert out.output.strip().splitlines()[-1] == "2031: 261 working days of 365"


def test_import_a_corrected_year_and_see_it(env: Path, tmp_path: Path) -> None:
    path = tmp_path / "2026-city.yaml"
    path.write_text(
        "year: 2026\nsource: {kind: city, title: 黄州区2026年作息调整}\ndays:\n"
        "  - {date: 2026-12-31, kind: workday, name: 跨年夜半天, periods: [['08:30', '12:00']]}\n"
        "  - {date: 2026-07-15, kind: holiday, name: 防汛停工}\n",
        encoding="utf-8",
    )
    out = runner.invoke(cli, ["calendar", "import", str(path), "--note", "区政府通知", "--editor", "cli:wang"])
    assert out.exit_code == 0, out.output
    assert "2 added, 0 changed, 0 removed" in out.output
    with session_scope() as s:
        row = s.get(CalendarDay, date(2026, 7, 15))
        assert row is not None and (row.source, row.editor, row.note) == ("city", "cli:wang", "区政府通知")
        notes = {c.note for c in s.exec(select(CalendarChange).where(CalendarChange.editor == "cli:wang"))}
    assert notes == {"区政府通知"}
    shown = runner.invoke(cli, ["calendar", "show", "2026"]).output
    assert "防汛停工" in shown and "08:30-12:00" in shown
    assert shown.strip().splitlines()[-1] == "2026: 247 working days of 365"  # 15 July is a Wednesday


def test_a_bad_file_is_refused_line_by_line_and_nothing_is_stored(env: Path, tmp_path: Path) -> None:
    path = tmp_path / "2026.yaml"
    path.write_text(
        "year: 2026\nsource: {kind: state_council, title: 通知}\ndays:\n"
        "  - {date: 2026-10-01, kind: holiday, name: 国庆节}\n"
        "  - {date: 2027-10-02, kind: holiday, name: 国庆节}\n"
        "  - {date: 2026-10-10, kind: workday, name: 调休, periods: [['17:00', '08:30']]}\n",
        encoding="utf-8",
    )
    out = runner.invoke(cli, ["calendar", "import", str(path)])
    assert out.exit_code == 2
    lines = out.output.strip().splitlines()
    assert lines == [
        "error: 2026.yaml:5（2027-10-02）：2027-10-02 不在 2026 年",
        "error: 2026.yaml:6（2026-10-10）：工作时段无效：结束时间应晚于开始时间",
    ]
    with session_scope() as s:
        assert len(list(s.exec(select(CalendarDay).where(CalendarDay.day == date(2026, 10, 2))))) == 1  # untouched


@pytest.mark.parametrize(
    ("args", "due"),
    [
        # Worked out in tests/unit/test_calendar_deadlines.py: 1.5 h on 30 Sep, 国庆节, 2.5 h on 8 Oct.
        (["--from", "2026-09-30T16:00", "--working-hours", "4"], "2026-10-08T11:00:00+08:00"),
        # 21 h: 1.5 + 7 (8 Oct) + 7 (9 Oct) + 3.5 (Saturday 10 Oct, 调休上班) + 2 h from 14:00.
        (["--from", "2026-09-30T16:00", "--working-days", "3"], "2026-10-10T16:00:00+08:00"),
        (["--from", "2026-09-30T16:00:00+08:00", "--hours", "24"], "2026-10-01T16:00:00+08:00"),
        # UTC in, city time out: 08:00Z on 30 Sep is 16:00 in the city.
        (["--from", "2026-09-30T08:00:00Z", "--working-hours", "4"], "2026-10-08T11:00:00+08:00"),
        (["--from", "2026-10-09 17:00", "--working-hours", "0.5"], "2026-10-09T17:30:00+08:00"),
    ],
)
def test_sla_deadline_prints_the_deadline_on_its_last_line(env: Path, args: list[str], due: str) -> None:
    out = runner.invoke(cli, ["sla", "deadline", *args])
    assert out.exit_code == 0, out.output
    assert out.output.strip().splitlines()[-1] == due


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--from", "2026-09-30T16:00"], "give exactly one of"),
        (["--from", "2026-09-30T16:00", "--hours", "1", "--working-days", "1"], "give exactly one of"),
        (["--from", "国庆节前", "--hours", "1"], "not an ISO 8601 time"),
        (["--from", "2026-09-30T16:00", "--working-hours", "0"], "more than 0"),
    ],
)
def test_sla_deadline_refuses_with_one_line(env: Path, args: list[str], said: str) -> None:
    out = runner.invoke(cli, ["sla", "deadline", *args])
    assert out.exit_code == 2 and said in out.output and len(out.output.strip().splitlines()) == 1, out.output


def test_sla_deadline_as_an_operator_runs_it(env: Path) -> None:
    environ = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-m", "hotline.cli", "sla", "deadline", "--from", "2026-10-09T17:00", "--working-hours", "1"],
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "2026-10-10T09:00:00+08:00"  # the make-up Saturday works
