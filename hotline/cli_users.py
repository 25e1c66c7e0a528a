"""`hotline users create|list|disable|enable|reset-password`: people's accounts, from the terminal.

Passwords come on stdin (`--password-stdin`), never on the command line where `ps` and shell history see
them. Refusals are one line on stderr with exit status 2; an unknown user exits 1."""

from __future__ import annotations

import sys
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.table import Table
from sqlmodel import Session

from agent_ui.accounts.models import User
from agent_ui.accounts.passwords import WeakPassword
from agent_ui.accounts.roles import ROLE_LABELS_ZH, Role
from agent_ui.accounts.service import AccountError, create_user, get_user, list_users, reset_password, set_active
from cases.db import session_scope
from cases.queries import local

app = typer.Typer(help="People's accounts: agents, supervisors, department staff, grid workers, admins.")
console = Console()


def _fail(message: str, code: int = 2) -> NoReturn:
    typer.echo(f"error: {' '.join(message.split())}", err=True)
    raise typer.Exit(code)


def _password(from_stdin: bool) -> str:
    if not from_stdin:
        _fail('give the password on stdin with --password-stdin (e.g. `printf %s "$PW" | hotline users …`)')
    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        _fail("no password on stdin")
    return password


def _user(session: Session, name: str) -> User:
    user = get_user(session, name)
    if user is None:
        _fail(f"no user {name}", 1)
    return user


@app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="Username: lowercase letters, digits, . _ - (2–32).")],
    role: Annotated[str, typer.Option(help="agent | supervisor | department | grid_worker | admin")],
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from stdin.")] = False,
    department: Annotated[str | None, typer.Option(help="department role: the department's code.")] = None,
    grid: Annotated[list[str] | None, typer.Option("--grid", help="grid_worker role: a grid code (repeat).")] = None,
    display_name: Annotated[str, typer.Option("--display-name", help="The name shown in pages and the trail.")] = "",
    phone: Annotated[str | None, typer.Option(help="The person's own phone (agents: rung to take calls).")] = None,
) -> None:
    """Create an account (the password is stored as an argon2 hash)."""
    password = _password(password_stdin)
    with session_scope() as s:
        try:
            user = create_user(
                s,
                username=name,
                role=role,
                password=password,
                display_name=display_name,
                department_code=department,
                grids=grid or (),
                phone=phone,
            )
        except (AccountError, WeakPassword) as exc:
            _fail(str(exc))
        console.print(f"user {user.username} ({user.role}) created")


@app.command("list")
def list_(role: Annotated[str | None, typer.Option(help="Only this role.")] = None) -> None:
    """Every account, with its role, binding, state and last sign-in."""
    try:
        only = Role(role) if role else None
    except ValueError:
        _fail(f"unknown role {role!r}: use one of {', '.join(r.value for r in Role)}")
    with session_scope() as s:
        table = Table("user", "name", "role", "department / grids", "state", "last sign-in")
        for u in list_users(s, only):
            binding = u.department_code or ", ".join(u.grids) or "-"
            state = "active" if u.active else "disabled"
            table.add_row(
                u.username, u.display_name, ROLE_LABELS_ZH[Role(u.role)], binding, state, local(u.last_login_at)
            )
    console.print(table)


def _set_active(name: str, active: bool) -> None:
    with session_scope() as s:
        user = _user(s, name)
        set_active(s, user, active)
    console.print(f"user {name} {'enabled' if active else 'disabled'}")


@app.command("disable")
def disable(name: str) -> None:
    """Disable an account; its open sessions end now."""
    _set_active(name, False)


@app.command("enable")
def enable(name: str) -> None:
    """Enable an account again (also lifts a lock-out)."""
    _set_active(name, True)


@app.command("reset-password")
def reset_password_(
    name: str,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from stdin.")] = False,
) -> None:
    """Set a new password (lifts a lock-out; the user's open sessions end now)."""
    password = _password(password_stdin)
    with session_scope() as s:
        user = _user(s, name)
        try:
            reset_password(s, user, password)
        except WeakPassword as exc:
            _fail(str(exc))
    console.print(f"password of {name} reset")
