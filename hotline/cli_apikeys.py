"""`hotline apikeys create NAME [--scope ...]|list|revoke`: keys for machine clients (only a hash is stored)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from cases.db import session_scope
from cases.queries import local
from intake.apikeys import DEFAULT_SCOPES, SCOPES, UnknownScope, create_key, list_keys, revoke_key

app = typer.Typer(help="API keys for the internal API and Open311.", no_args_is_help=True)
console = Console()
SCOPE_HELP = "What the key may do (repeat for several): " + "; ".join(f"{k}: {v}" for k, v in SCOPES.items())


@app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="Who the key is for (an app, a partner).")],
    scope: Annotated[list[str] | None, typer.Option("--scope", help=SCOPE_HELP)] = None,
) -> None:
    """Create a key and print it once, alone on the last line; only its SHA-256 is stored.
    Without --scope the key may only post Open311 requests (what keys always were)."""
    if len(name) > 100 or not name.strip():
        console.print("[red]NAME must be 1–100 characters")
        raise typer.Exit(2)
    with session_scope() as s:
        try:
            row, key = create_key(s, name.strip(), scope or DEFAULT_SCOPES)
        except UnknownScope as exc:
            console.print(f"[red]{exc}")
            raise typer.Exit(2) from None
    console.print(f"key {row.id} for {row.name!r}, scopes {', '.join(row.scopes)} (shown once, store it now):")
    print(key)


@app.command("list")
def list_() -> None:
    """Show keys by id, prefix and scopes (never the key itself)."""
    table = Table("id", "name", "prefix", "scopes", "created", "last used", "revoked")
    with session_scope() as s:
        for k in list_keys(s):
            table.add_row(
                str(k.id),
                k.name,
                k.prefix + "…",
                ",".join(k.scopes),
                local(k.created_at),
                local(k.last_used_at),
                local(k.revoked_at),
            )
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
