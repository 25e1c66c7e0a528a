"""`hotline notices list [--failed]|retry ID ...`: department notices (SMS to contacts, webhook deliveries)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from cases.db import session_scope
from cases.queries import local
from routing import notices
from routing.models import DepartmentNotice

app = typer.Typer(help="Notices to departments: SMS to their contacts and webhook deliveries.", no_args_is_help=True)
console = Console()


@app.command("list")
def list_(
    failed: Annotated[
        bool, typer.Option("--failed", help="Only failed ones (and pending ones whose job was lost).")
    ] = False,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="At most this many, newest first.")] = 50,
) -> None:
    """Show notices by id: department, case, event, channel, state, attempts, last error (never a phone number)."""
    table = Table("id", "created", "department", "case", "event", "channel", "target", "state", "attempts", "error")
    with session_scope() as s:
        rows = notices.recent_notices(s, failed_only=failed, limit=limit)
        numbers = notices.notice_case_numbers(s, rows)
        for n in rows:
            target = f"contact {n.target}" if n.channel == notices.Channel.SMS.value else n.target
            table.add_row(
                str(n.id),
                local(n.created_at),
                n.department_code,
                numbers.get(n.case_id or 0, ""),
                n.event,
                n.channel,
                target,
                n.state,
                str(n.attempts),
                (n.last_error or "")[:80],
            )
    console.print(table)
    if failed and not rows:
        console.print("no failed notices")


@app.command("retry")
def retry(
    ids: Annotated[list[int], typer.Argument(help="Notice ids (see `hotline notices list --failed`).")],
    actor: Annotated[str, typer.Option(help="Who retries them, for the record.")] = "admin:cli",
) -> None:
    """Send failed notices again (all their attempts anew), after the contact or webhook was fixed."""
    refused = 0
    for notice_id in ids:
        with session_scope() as s:
            try:
                notices.retry_notice(s, notice_id, actor)
            except notices.NoticeError as exc:
                console.print(f"[red]notice {notice_id}: {exc}")
                refused += 1
                continue
        with session_scope() as s:
            row = s.get(DepartmentNotice, notice_id)
            state = row.state if row else "?"
        console.print(f"notice {notice_id} retried: {state}")
    if refused:
        raise typer.Exit(1)
