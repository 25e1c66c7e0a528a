"""Signing in and out, and the user's own account page.

The sign-in form has no session yet, so its CSRF token is a signed double submit (a random cookie and
an HMAC of it in the form), as on the resident form; after sign-in every form and htmx request carries
the session's own token (agent_ui.auth)."""

from __future__ import annotations

import secrets
import time
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from agent_ui.accounts.passwords import WeakPassword, verify_password
from agent_ui.accounts.roles import LoginEvent, Role
from agent_ui.accounts.service import audit, authenticate, reset_password
from agent_ui.accounts.sessions import session_store
from agent_ui.auth import HOME, SESSION_COOKIE, Principal, SignedInUser, optional_principal
from agent_ui.settings import console_settings
from agent_ui.templating import render
from intake.deps import DbSession
from intake.settings import intake_settings
from intake.web.csrf import sign_value

router = APIRouter(include_in_schema=False)

LOGIN_COOKIE = "hotline_login"
LOGIN_FORM_MAX_AGE = 3600
MESSAGES = {
    LoginEvent.FAILURE: "用户名或密码错误",
    LoginEvent.LOCKOUT: "密码错误次数过多，账号已锁定 {minutes} 分钟",
    LoginEvent.LOCKED: "账号已锁定，请稍后再试或联系系统管理员",
}


def _secure() -> bool:
    return intake_settings().public_base_url.startswith("https://")


def _login_token(request: Request, response: Response) -> str:
    seed = request.cookies.get(LOGIN_COOKIE)
    if not seed or len(seed) != 32:
        seed = secrets.token_hex(16)
        response.set_cookie(
            LOGIN_COOKIE, seed, httponly=True, samesite="lax", secure=_secure(), path="/login", max_age=3600
        )
    ts = str(int(time.time()))
    return f"{ts}.{sign_value('login|' + seed + '|' + ts)}"


def _login_token_ok(request: Request, token: str) -> bool:
    seed = request.cookies.get(LOGIN_COOKIE)
    ts, _, sig = token.partition(".")
    if not seed or not ts.isascii() or not ts.isdigit() or len(ts) > 12:
        return False
    if time.time() - int(ts) > LOGIN_FORM_MAX_AGE:
        return False
    return secrets.compare_digest(sign_value("login|" + seed + "|" + ts).encode(), sig.encode("utf-8", "replace"))


def _safe_next(raw: str | None) -> str | None:
    """Only a path on this site: never `//evil.example` or a scheme."""
    if raw and raw.startswith("/") and not raw.startswith("//") and "\\" not in raw and len(raw) < 500:
        return raw
    return None


def _login_page(
    request: Request, *, error: str | None = None, username: str = "", next_url: str | None = None, status: int = 200
) -> HTMLResponse:
    response = HTMLResponse("")
    request.state.login_csrf = _login_token(request, response)
    page = render(
        request, "login.html", status_code=status, error=error, username=username, next_url=_safe_next(next_url)
    )
    for key, value in response.headers.items():
        if key.lower() == "set-cookie":
            page.headers.append("set-cookie", value)
    return page


@router.get("/login", response_class=HTMLResponse)
def login_form(
    request: Request, principal: Annotated[Principal | None, Depends(optional_principal)], next: str | None = None
) -> Response:
    if principal is not None:
        return RedirectResponse(_safe_next(next) or HOME[principal.role], status_code=303)
    return _login_page(request, next_url=next)


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    db: DbSession,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=200)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str | None, Form(max_length=500)] = None,
) -> Response:
    if not _login_token_ok(request, csrf_token):
        return _login_page(request, error="页面已过期，请重新登录", username=username, next_url=next, status=403)
    if not username.strip() or not password:
        return _login_page(request, error="请输入用户名和密码", username=username, next_url=next, status=422)
    ip = request.client.host if request.client else None
    result = authenticate(db, username, password, ip=ip, user_agent=request.headers.get("user-agent"))
    if not result.ok or result.user is None or result.user.id is None:
        message = MESSAGES[result.event].format(minutes=console_settings().login_lockout_minutes)
        return _login_page(request, error=message, username=username, next_url=next, status=401)
    token, _ = session_store().create(db, result.user.id, ip)
    response = RedirectResponse(_safe_next(next) or HOME[Role(result.user.role)], status_code=303)
    settings = console_settings()
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=_secure(),
        path="/",
        max_age=settings.session_max_hours * 3600,
    )
    response.delete_cookie(LOGIN_COOKIE, path="/login")
    return response


@router.get("/logout", response_class=HTMLResponse)
def logout_form(request: Request, principal: SignedInUser) -> HTMLResponse:
    return render(request, "logout.html")


@router.post("/logout")
def logout(request: Request, db: DbSession, principal: SignedInUser) -> Response:
    session_store().delete(db, principal.session_token)
    ip = request.client.host if request.client else None
    audit(db, LoginEvent.LOGOUT, principal.user.username, user=principal.user, ip=ip)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/account", response_class=HTMLResponse)
def account(request: Request, principal: SignedInUser) -> HTMLResponse:
    return render(request, "account.html", home=HOME[principal.role])


@router.post("/account/password", response_class=HTMLResponse)
def change_password(
    request: Request,
    db: DbSession,
    principal: SignedInUser,
    current: Annotated[str, Form(max_length=200)] = "",
    new: Annotated[str, Form(max_length=200)] = "",
    repeat: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    error = None
    if not verify_password(principal.user.password_hash, current):
        error = "当前密码不正确"
    elif new != repeat:
        error = "两次输入的新密码不一致"
    else:
        try:
            reset_password(db, principal.user, new)
        except WeakPassword as exc:
            error = str(exc)
    if error:
        return render(request, "account.html", status_code=422, error=error, home=HOME[principal.role])
    # reset_password ended every session of the user: each browser signs in with the new password.
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
