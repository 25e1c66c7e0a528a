"""Who is knocking, for people's pages: the session cookie, the CSRF token of every unsafe request, and
the roles each route declares.

A route declares its roles by taking one of the typed users below (`AgentUser`, `AdminUser`, …) or
`Depends(Allow(...))`. `tests/unit/test_route_roles.py` walks every route of the app and fails on a
people's route that declares none. What a user may read is narrowed in the query: `reader(principal)`
gives the kernel's `Reader`, which read models apply with `cases.access.scope_cases`.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from agent_ui.accounts.models import User
from agent_ui.accounts.roles import Role
from agent_ui.accounts.service import actor_of
from agent_ui.accounts.sessions import session_store
from cases.access import EVERYONE, Reach, Reader
from intake.deps import DbSession

SESSION_COOKIE = "hotline_console"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class LoginRequired(Exception):
    """No live session: the page sends the browser to /login (and back here afterwards)."""


class Forbidden(Exception):
    """Signed in, but this route is not for the user's role (403)."""


class CsrfRejected(Exception):
    """An unsafe request without the session's CSRF token (403)."""


@dataclass(frozen=True)
class Me:
    """Who is signed in, as plain values for the page shell: error pages render it after the request's
    database session has ended (its ORM rows are expired then)."""

    username: str
    display_name: str
    role: Role


@dataclass(frozen=True)
class Principal:
    """The signed-in person of this request."""

    user: User
    csrf_token: str
    session_token: str

    @property
    def role(self) -> Role:
        return Role(self.user.role)

    @property
    def actor(self) -> str:
        return actor_of(self.user)


async def posted_csrf(request: Request) -> str | None:
    """The CSRF token an unsafe request carries: the header htmx sends, else the form field."""
    if request.method in SAFE_METHODS:
        return None
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    ctype = request.headers.get("content-type", "")
    if ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        value = (await request.form()).get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    return None


def current_principal(
    request: Request, db: DbSession, posted: Annotated[str | None, Depends(posted_csrf)]
) -> Principal:
    token = request.cookies.get(SESSION_COOKIE)
    if not token or len(token) > 128:
        raise LoginRequired()
    store = session_store()
    record = store.load(db, token)
    if record is None:
        raise LoginRequired()
    user = db.get(User, record.user_id)
    if user is None or not user.active:
        store.delete(db, token)
        raise LoginRequired()
    if request.method not in SAFE_METHODS and not _same(record.csrf_token, posted):
        raise CsrfRejected()
    principal = Principal(user, record.csrf_token, token)
    request.state.principal = principal
    request.state.me = Me(user.username, user.display_name, Role(user.role))  # for the page shell
    return principal


def optional_principal(request: Request, db: DbSession) -> Principal | None:
    """The signed-in person, or None (for public pages that greet a signed-in user differently)."""
    if request.method not in SAFE_METHODS:
        raise AssertionError("optional_principal is for safe methods only")
    try:
        return current_principal(request, db, None)
    except LoginRequired:
        return None


def _same(expected: str, given: str | None) -> bool:
    return given is not None and hmac.compare_digest(expected.encode(), given.encode("utf-8", "surrogatepass"))


class Allow:
    """Dependency: the signed-in user, who must hold one of `roles`; else LoginRequired or Forbidden."""

    def __init__(self, *roles: Role) -> None:
        assert roles, "a route must name at least one role"
        self.roles = frozenset(roles)

    def __call__(self, principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if principal.role not in self.roles:
            raise Forbidden()
        return principal

    def __repr__(self) -> str:
        return f"Allow({', '.join(sorted(self.roles))})"


# Who works where. Supervisors can do everything an agent can (they cover the phones at peaks).
HOTLINE = Allow(Role.AGENT, Role.SUPERVISOR)
CASE_READERS = Allow(Role.AGENT, Role.SUPERVISOR, Role.DEPARTMENT, Role.GRID_WORKER)
SUPERVISORS = Allow(Role.SUPERVISOR)
ADMINS = Allow(Role.ADMIN)
DEPARTMENTS = Allow(Role.DEPARTMENT)
GRID_WORKERS = Allow(Role.GRID_WORKER)
ANYONE_SIGNED_IN = Allow(*Role)

AgentUser = Annotated[Principal, Depends(HOTLINE)]
CaseReader = Annotated[Principal, Depends(CASE_READERS)]
SupervisorUser = Annotated[Principal, Depends(SUPERVISORS)]
AdminUser = Annotated[Principal, Depends(ADMINS)]
DepartmentUser = Annotated[Principal, Depends(DEPARTMENTS)]
GridWorkerUser = Annotated[Principal, Depends(GRID_WORKERS)]
SignedInUser = Annotated[Principal, Depends(ANYONE_SIGNED_IN)]


def reader(principal: Principal) -> Reader:
    """What this person may read, as the kernel's query filter."""
    role, user = principal.role, principal.user
    if role == Role.DEPARTMENT:
        return Reader(Reach.DEPARTMENT, department_code=user.department_code)
    if role == Role.GRID_WORKER:
        return Reader(Reach.GRIDS, grids=tuple(user.grids))
    if role in (Role.AGENT, Role.SUPERVISOR):
        return EVERYONE
    return Reader(Reach.GRIDS)  # an admin manages accounts and reads no case


HOME: dict[Role, str] = {
    Role.AGENT: "/console/",
    Role.SUPERVISOR: "/console/",
    Role.ADMIN: "/admin/users",
    Role.DEPARTMENT: "/dept/",
    Role.GRID_WORKER: "/grid/",
}
