"""`hotline apikeys create NAME|list|revoke`: keys for Open311 clients (only a hash is stored)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from cases.db import session_scope
from intake.open311.keys import create_key, list_keys, revoke_key

app = typer.Typer(help="Open311 API keys.", no_args_is_help=True)
console = Console()


@app.command("create")
def create(name: Annotated[str, typer.Argument(help="Who the key is for (an app, a partner).")]) -> None:
    """Create a key and print it once; only its SHA-256 is stored."""
    with session_scope() as s:
        row, key = create_key(s, name)
    console.print(f"key {row.id} for {name!r} (shown once, store it now):")
    print(key)


@app.command("list")
def list_() -> None:
    """Show keys by id and prefix (never the key itself)."""
    table = Table("id", "name", "prefix", "created", "last used", "revoked")
    with session_scope() as s:
        for k in list_keys(s):
            table.add_row(str(k.id), k.name, k.prefix + "…", k.created_at.isoformat(timespec="seconds"),
                          k.last_used_at.isoformat(timespec="seconds") if k.last_used_at else "",
                          k.revoked_at.isoformat(timespec="seconds") if k.revoked_at else "")
    console.print(table)


@app.command("revoke")
def revoke(ident: Annotated[str, typer.Argument(help="Key id or prefix.")]) -> None:
    """Revoke a key; requests with it are refused from now on."""
    with session_scope() as s:
        row = revoke_key(s, ident)
    if row is None:
        console.print(f"[red]no key {ident!r}")
        raise typer.Exit(1)
    console.print(f"key {row.id} ({row.name}) revoked")
