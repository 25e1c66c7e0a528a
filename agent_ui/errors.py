"""How people's pages refuse: sign in first (a redirect to /login, or HX-Redirect for an htmx request),
403 for a route outside the user's role or a missing CSRF token, and every other HTTP error as a
Chinese page (or, for htmx, a fragment the page shows in its message area)."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from agent_ui.auth import CsrfRejected, Forbidden, LoginRequired
from agent_ui.templating import is_htmx, render

# Paths whose refusals are pages for people (everything else answers machines: problem+json).
PEOPLE_PREFIXES = ("/login", "/logout", "/account", "/console", "/admin", "/dept", "/supervisor", "/grid")


def is_people_path(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in PEOPLE_PREFIXES)


def error_page(request: Request, status: int, title: str, detail: str | None = None) -> HTMLResponse:
    if is_htmx(request):
        # htmx swaps nothing on a 4xx by default; console.js shows this fragment in the message area.
        return render(request, "_error.html", status_code=status, block="message", title=title, detail=detail)
    return render(request, "_error.html", status_code=status, title=title, detail=detail)


def _login_required(request: Request, exc: Exception) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    url = f"/login?next={quote(target, safe='/')}" if request.method == "GET" else "/login"
    if is_htmx(request):
        return Response(status_code=401, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def _forbidden(request: Request, exc: Exception) -> Response:
    return error_page(request, 403, "无权访问", "您的账号角色不能使用此页面。")


def _csrf(request: Request, exc: Exception) -> Response:
    return error_page(request, 403, "请求已失效", "页面已过期或请求缺少安全令牌，请刷新页面后重试。")


def add_handlers(app: FastAPI) -> None:
    app.add_exception_handler(LoginRequired, _login_required)
    app.add_exception_handler(Forbidden, _forbidden)
    app.add_exception_handler(CsrfRejected, _csrf)
