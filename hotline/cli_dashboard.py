"""`hotline dashboard refresh [--full]`: bring the supervisors' dashboard aggregates up to date now (the
worker does it on every sweep; --full rebuilds every day, e.g. after the grid layer changed).

`hotline report monthly --month 2026-11 --out FILE.xlsx`: the monthly per-department 考核表, the same
workbook as `/supervisor/reports/monthly.xlsx`."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from agent_ui.supervisor.dashboard_tables import monthly_tables
from agent_ui.supervisor.export import to_xlsx
from cases.db import session_scope
from cases.reference import InvalidInput
from routing.dashboard.monthly import monthly_report, parse_month
from routing.dashboard.refresh import refresh

app = typer.Typer(help="The supervisors' dashboard: its per-day aggregates.", no_args_is_help=True)
report_app = typer.Typer(help="Reports: the monthly per-department 考核表.", no_args_is_help=True)


@app.command("refresh")
def refresh_command(
    full: Annotated[bool, typer.Option("--full", help="Rebuild every day, not only those that changed.")] = False,
) -> None:
    """Recompute the days that changed since the last refresh (or every day)."""
    started = time.perf_counter()
    with session_scope() as s:
        days = refresh(s, full=full)
    if days is None:
        typer.echo("another worker is refreshing the dashboard now; nothing done")
        return
    typer.echo(f"dashboard: {days} day(s) recomputed in {time.perf_counter() - started:.1f} s")


@report_app.command("monthly")
def monthly_command(
    month: Annotated[str, typer.Option(help="The month, YYYY-MM.")],
    out: Annotated[Path, typer.Option(help="The XLSX file to write.")],
) -> None:
    """Write the 考核表 of one month: a row per department, the rates' definitions on a second sheet."""
    try:
        first = parse_month(month)
    except InvalidInput as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    with session_scope() as s:
        report = monthly_report(s, first)
    out.write_bytes(to_xlsx(monthly_tables(report)))
    typer.echo(f"{out}: {len(report.rows)} department(s), {report.overall.dispatched} dispatch(es)")
