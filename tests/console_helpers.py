"""Accounts and signed-in clients for tests of people's pages."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from agent_ui.accounts.models import User
from agent_ui.accounts.service import create_user
from cases.db import session_scope

PASSWORD = "correct-horse-12319"
# Grid and department of the sample city's reference data (cases/data): 东门社区第1网格, sanitation.
GRID = "421102001001001"
DEPARTMENT = "sanitation"
OTHER_DEPARTMENT = "municipal"

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_BODY_CSRF = re.compile(r'data-csrf="([^"]+)"')


def make_user(username: str, role: str, password: str = PASSWORD, **fields: Any) -> User:
    """A user in the database the settings point at. Department and grid bindings default to the sample city's."""
    if role == "department":
        fields.setdefault("department_code", DEPARTMENT)
    if role == "grid_worker":
        fields.setdefault("grids", [GRID])
    with session_scope() as s:
        user = create_user(s, username=username, role=role, password=password, **fields)
        s.expunge(user)
        return user


def login_form_token(client: TestClient, path: str = "/login") -> str:
    page = client.get(path)
    match = _CSRF.search(page.text)
    assert match, page.text[:500]
    return match.group(1)


def login(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Sign in through the real form; returns the session's CSRF token (for forms and htmx posts)."""
    token = login_form_token(client)
    r = client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token}, follow_redirects=False
    )
    assert r.status_code == 303, r.text[:500]
    return session_csrf(client)


def session_csrf(client: TestClient) -> str:
    page = client.get("/account")
    match = _BODY_CSRF.search(page.text)
    assert match, page.text[:300]
    return match.group(1)
