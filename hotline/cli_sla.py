"""`hotline sla`: the SLA policies (time limits per category × grade) and deadline arithmetic."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from cases.db import session_scope

app = typer.Typer(
    help="SLA: time limits per category and grade, and deadlines on the working calendar.", no_args_is_help=True
)
console = Console()

USAGE = 2


def _fail(message: str, code: int = USAGE) -> None:
    typer.echo(f"error: {' '.join(message.split())}", err=True)
    raise typer.Exit(code)


def _limit(amount: float, unit: str) -> str:
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
                f"签收 {_limit(r.sign_amount, r.sign_unit)}",
                f"办结 {_limit(r.handle_amount, r.handle_unit)}",
                f"核实 {_limit(r.verify_amount, r.verify_unit)}",
                "photo required" if r.require_photo else "photo optional",
                f"{r.created_at:%Y-%m-%d %H:%M} {r.editor}: {r.note}",
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
