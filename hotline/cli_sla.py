"""`hotline sla`: the SLA policies (time limits per category × grade) and deadline arithmetic."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Column, Table

from cases.db import session_scope

app = typer.Typer(
    help="SLA: time limits per category and grade, and deadlines on the working calendar.", no_args_is_help=True
)
console = Console()

USAGE = 2


def _fail(message: str, code: int = USAGE) -> None:
    typer.echo(f"error: {' '.join(message.split())}", err=True)
    raise typer.Exit(code)


@app.command("policies")
def policies(
    history_of: Annotated[str | None, typer.Option("--history", help="Every version of this policy code.")] = None,
) -> None:
    """The active SLA policies: category (or prefix) × grade, 签收 / 办结 / 核实 limits, photo required."""
    from routing.sla_policies import active_rows, history

    with session_scope() as s:
        rows = history(s, history_of) if history_of else active_rows(s)
        table = Table(
            Column("policy", no_wrap=True), "v", "for", "grade", "签收", "办结", "核实", "photo", "edited", "note"
        )
        for r in rows:
            target = r.category_code or (f"{r.category_prefix}*" if r.category_prefix else "(every case)")
            table.add_row(
                r.code + ("" if r.active else " (retired)"),
                str(r.version),
                target,
                r.grade or "-",
                f"{r.sign_amount:g} {r.sign_unit}",
                f"{r.handle_amount:g} {r.handle_unit}",
                f"{r.verify_amount:g} {r.verify_unit}",
                "yes" if r.require_photo else "-",
                f"{r.created_at:%Y-%m-%d %H:%M} {r.editor}",
                r.note[:40],
            )
    console.print(table if rows else "no policies: run `hotline db upgrade` (seeds the shipped ones)")


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
