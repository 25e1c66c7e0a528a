"""`hotline cases`: the agents' confirmation queue and lifecycle actions from the terminal."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Column, Table
from sqlmodel import Session

from cases.db import session_scope
from cases.lifecycle import LABELS_ZH, CaseStatus, IllegalTransition
from cases.models import Case
from cases.service import apply_action, get_case_by_number
from routing.review import ReviewError, confirm_case, review_queue

app = typer.Typer(help="Cases: the confirmation queue, confirm/correct, lifecycle actions.", no_args_is_help=True)
console = Console()


def _case(session: Session, number: str) -> Case:
    case = get_case_by_number(session, number)
    if case is None:
        console.print(f"[red]no case {number}")
        raise typer.Exit(1)
    return case


@app.command("review")
def review(limit: Annotated[int, typer.Option(help="How many to show.")] = 50) -> None:
    """Cases held for an agent's confirmation, oldest first."""
    with session_scope() as s:
        rows = review_queue(s, limit)
        table = Table(
            Column("case", no_wrap=True, min_width=21), "created", "category", "conf.", "grid", "conf.", "title"
        )
        for c in rows:
            table.add_row(
                c.number,
                c.created_at.strftime("%m-%d %H:%M"),
                c.category_code or "-",
                f"{c.category_confidence or 0:.2f}",
                c.grid_code or "-",
                f"{c.grid_confidence or 0:.2f}",
                c.title[:30],
            )
    console.print(table if rows else "the confirmation queue is empty")


@app.command("confirm")
def confirm(
    number: str,
    agent: Annotated[str, typer.Option(help="Who confirms (recorded in the audit trail).")],
    category: Annotated[str | None, typer.Option(help="Corrected category code.")] = None,
    grid: Annotated[str | None, typer.Option(help="Corrected 15-digit grid code.")] = None,
    department: Annotated[str | None, typer.Option(help="Department code, overriding the rules.")] = None,
    grade: Annotated[str | None, typer.Option(help="normal | urgent | critical")] = None,
) -> None:
    """Confirm or correct a held case and dispatch it (the decision becomes a labelled example)."""
    with session_scope() as s:
        case = _case(s, number)
        try:
            confirm_case(
                s,
                case,
                f"agent:{agent}",
                category_code=category,
                grid_code=grid,
                department_code=department,
                grade=grade,
            )
        except ReviewError as exc:
            console.print(f"[red]{exc}")
            raise typer.Exit(1) from exc
        console.print(f"{case.number} → {LABELS_ZH[CaseStatus(case.status)]} ({case.department_code})")


@app.command("act")
def act(
    number: str,
    action: Annotated[
        str,
        typer.Argument(
            help="accept, return, handle, verify, verify_fail, survey, close, "
            "reopen, escalate, extend, note, reject, register, dispatch"
        ),
    ],
    actor: Annotated[str, typer.Option(help="Who acts, e.g. dept:sanitation or agent:li")],
    reason: Annotated[str | None, typer.Option(help="Why (kept in the audit trail).")] = None,
    data: Annotated[str | None, typer.Option(help="Extra JSON kept with the event.")] = None,
) -> None:
    """Apply one lifecycle action to a case; an action the table does not allow changes nothing."""
    with session_scope() as s:
        case = _case(s, number)
        try:
            apply_action(s, case, action, actor, reason=reason, data=json.loads(data) if data else None)
        except (IllegalTransition, ValueError) as exc:
            console.print(f"[red]{exc}")
            raise typer.Exit(1) from exc
        s.commit()
        console.print(f"{case.number} → {LABELS_ZH[CaseStatus(case.status)]}")
