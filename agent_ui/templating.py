"""The people's pages' Jinja2 environment (autoescaped; htmx partials render one block of a page with
jinja2-fragments), and the one way a view renders: `render(request, template, ...)`."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2_fragments.fastapi import Jinja2Blocks

from agent_ui.accounts.roles import ROLE_LABELS_ZH, Role
from agent_ui.static import PREFIX as STATIC_PREFIX
from cases.lifecycle import LABELS_ZH, CaseStatus
from cases.phone import mask_phone
from cases.queries import local

TEMPLATES_DIR = Path(__file__).parent / "templates"


def _shell(request: Request) -> dict[str, Any]:
    principal = getattr(request.state, "principal", None)
    return {
        "principal": principal,
        "me": getattr(request.state, "me", None),
        "csrf_token": principal.csrf_token if principal else getattr(request.state, "login_csrf", ""),
        "static": STATIC_PREFIX,
        "Role": Role,
    }


templates = Jinja2Blocks(directory=str(TEMPLATES_DIR), context_processors=[_shell])
env = templates.env
env.filters["masked"] = lambda phone: mask_phone(phone) or "—"
env.filters["local"] = lambda dt: local(dt) if isinstance(dt, datetime) else ""
env.filters["status_zh"] = lambda status: LABELS_ZH.get(CaseStatus(status), status) if status else ""
env.filters["role_zh"] = lambda role: ROLE_LABELS_ZH.get(Role(role), role) if role else ""


def is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


def render(
    request: Request,
    template: str,
    *,
    status_code: int = 200,
    block: str | None = None,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    """A page, or with `block` only that block of it (an htmx partial)."""
    kwargs: dict[str, Any] = {"status_code": status_code, "headers": headers}
    if block is not None:
        kwargs["block_name"] = block
    response = templates.TemplateResponse(request, template, context, **kwargs)
    assert isinstance(response, HTMLResponse)
    return response
