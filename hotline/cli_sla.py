"""`hotline sla`: time limits on the city's working calendar.

`hotline sla deadline --from ISO8601 (--working-hours N | --working-days N | --hours N)` prints when a
limit started then runs out, counted on the configured calendar (the weekly pattern of the settings and
the calendar table's holidays and make-up workdays); its last line is the deadline alone, ISO 8601 in
city time. A --from without an offset is city time."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, NoReturn

import typer

from cases.db import session_scope
from cases.settings import kernel_settings
from routing.calendar import load_calendar
from routing.sla import TimeLimit, Unit, deadline

app = typer.Typer(help="SLA time limits on the working calendar.", no_args_is_help=True)


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def _limit(working_hours: float | None, working_days: float | None, hours: float | None) -> TimeLimit:
    options: tuple[tuple[float | None, Unit], ...] = (
        (working_hours, "working_hours"),
        (working_days, "working_days"),
        (hours, "hours"),
    )
    given = [(amount, unit) for amount, unit in options if amount is not None]
    if len(given) != 1:
        _fail("give exactly one of --working-hours, --working-days, --hours")
    amount, unit = given[0]
    if not amount > 0:
        _fail("the limit must be more than 0")
    return TimeLimit(amount, unit)


@app.command("deadline")
def deadline_command(
    start: Annotated[str, typer.Option("--from", help="When the clock starts, ISO 8601 (no offset: city time).")],
    working_hours: Annotated[float | None, typer.Option("--working-hours", help="Working hours.")] = None,
    working_days: Annotated[float | None, typer.Option("--working-days", help="Working days.")] = None,
    hours: Annotated[float | None, typer.Option("--hours", help="Natural hours.")] = None,
) -> None:
    """When a limit started at --from runs out (last line: the deadline, ISO 8601 in city time)."""
    limit = _limit(working_hours, working_days, hours)
    try:
        begins = datetime.fromisoformat(start.strip())
    except ValueError:
        _fail(f"--from is not an ISO 8601 time: {start[:40]!r} (e.g. 2026-09-30T16:00)")
    with session_scope() as s:
        cal = load_calendar(s)
    if begins.tzinfo is None:
        begins = begins.replace(tzinfo=cal.tz)
    due = deadline(begins, limit, cal).astimezone(cal.tz)
    typer.echo(f"from {begins.astimezone(cal.tz).isoformat()} + {limit.amount:g} {limit.unit.replace('_', ' ')}")
    typer.echo(f"calendar: {kernel_settings().timezone}, {cal.hours_per_day:g} working hours a working day")
    typer.echo(due.isoformat())
