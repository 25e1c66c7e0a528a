"""`hotline cases`: the agents' confirmation queue and lifecycle actions from the terminal.

Input that names something that does not exist (a category, grid, department, actor, malformed JSON)
is refused with one line on stderr and exit status 2; an action the lifecycle does not allow now exits 1.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Column, Table
from sqlmodel import Session

from cases.db import session_scope
from cases.lifecycle import LABELS_ZH, Action, CaseStatus, IllegalTransition
from cases.models import Case
from cases.queries import local
from cases.reference import ACTOR_KINDS, InvalidInput, actor_id
from cases.service import apply_action, get_case_by_number
from routing.review import confirm_case, dispatch_case, review_queue
from routing.rules import RulesError

app = typer.Typer(help="Cases: the confirmation queue, confirm/correct, lifecycle actions.", no_args_is_help=True)
console = Console()

USAGE = 2  # like click's own usage errors


def _fail(message: str, code: int = USAGE) -> NoReturn:
    typer.echo(f"error: {' '.join(message.split())}", err=True)  # one line, whatever the message holds
    raise typer.Exit(code)


def _case(session: Session, number: str) -> Case:
    case = get_case_by_number(session, number)
    if case is None:
        _fail(f"no case {number}", 1)
    return case


def _data(raw: str | None) -> dict[str, Any] | None:
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        _fail(f"--data is not valid JSON ({exc.msg} at character {exc.pos})")
    if not isinstance(value, dict):
        _fail('--data must be a JSON object, e.g. \'{"note": "…"}\'')
    return value


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
                local(c.created_at, "%m-%d %H:%M"),
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
    agent: Annotated[str, typer.Option(help="Who confirms: li or agent:li (recorded in the audit trail).")],
    category: Annotated[str | None, typer.Option(help="Corrected matter (事件) category code.")] = None,
    grid: Annotated[str | None, typer.Option(help="Corrected 15-digit grid code.")] = None,
    department: Annotated[str | None, typer.Option(help="Department code, overriding the rules.")] = None,
    grade: Annotated[str | None, typer.Option(help="normal | urgent | critical")] = None,
    no_grid: Annotated[
        bool, typer.Option("--no-grid", help="Dispatch although the case has no grid (refused otherwise).")
    ] = False,
) -> None:
    """Confirm or correct a held case and dispatch it (the decision becomes a labelled example)."""
    with session_scope() as s:
        case = _case(s, number)
        try:
            confirm_case(
                s,
                case,
                agent,
                category_code=category,
                grid_code=grid,
                department_code=department,
                grade=grade,
                allow_no_grid=no_grid,
            )
        except (InvalidInput, RulesError) as exc:
            _fail(str(exc))
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
    actor: Annotated[str, typer.Option(help="Who acts, e.g. dept:sanitation or agent:li (a bare name: agent)")],
    reason: Annotated[str | None, typer.Option(help="Why (kept in the audit trail).")] = None,
    data: Annotated[str | None, typer.Option(help="Extra JSON object kept with the event.")] = None,
    department: Annotated[
        str | None, typer.Option(help="dispatch only: department code, overriding the rules.")
    ] = None,
) -> None:
    """Apply one lifecycle action to a case; an action the table does not allow changes nothing.
    A dispatch (also after 退单 or 重开) routes by the rules; its 签收 clock counts the SLA policy from now.
    extend takes the granted working days as --data '{"working_days": 2}'."""
    extra = _data(data)
    try:
        who = actor_id(actor, kinds=ACTOR_KINDS)
    except InvalidInput as exc:
        _fail(str(exc))
    try:
        verb = Action(action)
    except ValueError:
        _fail(f"unknown action {action!r}: use one of {', '.join(a.value for a in Action)}")
    if department is not None and verb != Action.DISPATCH:
        _fail("--department is only for dispatch")
    with session_scope() as s:
        case = _case(s, number)
        try:
            if verb == Action.DISPATCH:
                dispatch_case(s, case, who, department_code=department, reason=reason, data=extra)
            else:
                apply_action(s, case, verb, who, reason=reason, data=extra)
        except IllegalTransition as exc:
            _fail(str(exc), 1)
        except (InvalidInput, RulesError) as exc:
            _fail(str(exc))
        console.print(f"{case.number} → {LABELS_ZH[CaseStatus(case.status)]}")
