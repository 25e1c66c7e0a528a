"""`hotline sla`: the SLA policies (time limits per category × grade) and time limits on the city's
working calendar.

`hotline sla policies` lists the active policies; `hotline sla import FILE --note` makes them what a file
says (new versions; running clocks keep theirs).

`hotline sla deadline --from ISO8601 (--working-hours N | --working-days N | --hours N)` prints when a
limit started then runs out, counted on the configured calendar (the weekly pattern of the settings and
the calendar table's holidays and make-up workdays); its last line is the deadline alone, ISO 8601 in
city time. A --from without an offset is city time."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console

from cases.db import session_scope
from cases.queries import local
from cases.settings import kernel_settings
from routing.calendar import load_calendar
from routing.sla import TimeLimit, Unit, deadline

app = typer.Typer(
    help="SLA: time limits per category and grade, and deadlines on the working calendar.", no_args_is_help=True
)
console = Console()


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {' '.join(message.split())}", err=True)
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


def _amount(amount: float, unit: str) -> str:
    return f"{amount:g} {unit}"


@app.command("policies")
def policies(
    history_of: Annotated[str | None, typer.Option("--history", help="Every version of this policy code.")] = None,
) -> None:
    """The active SLA policies, one a line: code and version, category (or prefix*) and grade, the 签收 /
    办结 / 核实 limits, whether 反馈 needs a photo, who changed it when and why."""
    from routing.sla_policies import active_rows, history

    with session_scope() as s:
        rows = history(s, history_of) if history_of else active_rows(s)
        for r in rows:
            target = r.category_code or (f"{r.category_prefix}*" if r.category_prefix else "(every case)")
            parts = [
                f"{r.code} v{r.version}" + ("" if r.active else " (retired)"),
                f"for {target}" + (f" grade {r.grade}" if r.grade else ""),
                f"签收 {_amount(r.sign_amount, r.sign_unit)}",
                f"办结 {_amount(r.handle_amount, r.handle_unit)}",
                f"核实 {_amount(r.verify_amount, r.verify_unit)}",
                "photo required" if r.require_photo else "photo optional",
                f"{local(r.created_at)} {r.editor}: {r.note}",
            ]
            typer.echo(" · ".join(parts))
    if not rows:
        typer.echo("no policies: run `hotline db upgrade` (seeds the shipped ones)")


@app.command("import")
def import_file(
    path: Annotated[Path, typer.Argument(help="An SLA policies YAML (see routing/data/sla_policies.yaml).")],
    note: Annotated[str, typer.Option(help="Why (kept with every version the import writes).")],
    editor: Annotated[str, typer.Option(help="Who imports (audit trail).")] = "admin:cli",
) -> None:
    """Make the active policies what the file says: a new version for each changed entry, the ones it no
    longer names retired. Clocks already running keep the version they started with. All or nothing."""
    from cases.reference import InvalidInput
    from routing.sla_policies import import_policies, read_policies_file

    try:
        with session_scope() as s:
            result = import_policies(s, read_policies_file(path), editor=editor, note=note)
    except InvalidInput as exc:
        _fail(str(exc))
    console.print(
        f"[green]{len(result.added)} added, {len(result.changed)} changed, {len(result.retired)} retired, "
        f"{result.unchanged} unchanged"
    )
    for label, codes in (("added", result.added), ("changed", result.changed), ("retired", result.retired)):
        if codes:
            console.print(f"{label}: {', '.join(codes)}")
