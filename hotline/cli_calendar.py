"""`hotline calendar import FILE` / `hotline calendar show YEAR`: the working calendar's holidays, 调休
make-up workdays and the city's own days, as data (routing/data/calendar/<year>.yaml for the shipped years).

A file that does not pass its checks is refused with one line per problem on stderr and exit status 2,
and nothing is stored."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Column, Table

from cases.db import session_scope
from routing.calendar_admin import CalendarError, DayEntry, Status, import_calendar, parse_calendar, year_view

app = typer.Typer(
    help="The working calendar: holidays, 调休 make-up workdays, the city's own days.", no_args_is_help=True
)
console = Console()


@app.command("import")
def import_file(
    file: Annotated[Path, typer.Argument(help="A year's calendar YAML (see routing/data/calendar/2025.yaml).")],
    note: Annotated[str, typer.Option(help="Why (recorded with every changed day; default: the file's source).")] = "",
    editor: Annotated[str, typer.Option(help="Who, for the change history.")] = "cli",
) -> None:
    """Load a year: its State Council days replace the year's; the city's own days stay unless the file names them."""
    try:
        doc = parse_calendar(file)
    except CalendarError as exc:
        for problem in exc.problems:
            typer.echo(f"error: {' '.join(problem.split())}", err=True)
        raise typer.Exit(2) from None
    with session_scope() as s:
        result = import_calendar(s, doc, editor=editor, note=note)
    typer.echo(
        f"{result.year}: {len(doc.days)} days in {file.name} ({doc.source.cite()}) — "
        f"{result.added} added, {result.changed} changed, {result.removed} removed, {result.unchanged} unchanged; "
        f"{result.city_kept} city day(s) kept"
    )
    if doc.status == Status.STATUTORY_ONLY:
        typer.echo("note: statutory days only — the year's 调休 arrangement is not in this file")


def _table(title: str, rows: tuple[DayEntry, ...], *, city: bool = False) -> Table | str:
    if not rows:
        return f"{title}: none"
    if city:  # the city's own days: what they are, their hours, who set them and why
        table = Table(
            "date", "day", "kind", Column("name", no_wrap=True), Column("hours", no_wrap=True), "note", title=title
        )
        for e in rows:
            note = f"{e.note} ({e.editor})" if e.note else e.editor
            table.add_row(e.day.isoformat(), e.weekday_zh, e.kind_zh, e.name or "-", e.periods_text or "usual", note)
        return table
    table = Table("date", "day", "name", "source", title=title)
    for e in rows:
        table.add_row(e.day.isoformat(), e.weekday_zh, e.name or "-", e.source_zh)
    return table


@app.command("show")
def show(year: Annotated[int, typer.Argument(help="The year, e.g. 2026.", min=1900, max=2200)]) -> None:
    """A year's holidays, make-up workdays, the city's own days, and its working days."""
    with session_scope() as s:
        view = year_view(s, year)
    if not view.has_state_council:
        typer.echo(f"{year}: no State Council days loaded (`hotline calendar import FILE`)")
    for cited in view.cited:
        typer.echo(f"source: {cited}")
    console.print(_table("法定节假日 · holidays", view.holidays))
    console.print(_table("调休上班 · make-up workdays", view.makeup_workdays))
    console.print(_table("本市例外 · city exceptions", view.city, city=True))
    typer.echo(f"{year}: {view.working_days} working days of {view.day_count}")
