"""Accounts, sign-in and sessions: argon2 hashes, lock-out, CSRF on the sign-in form, idle timeout, logout,
the login audit, cookies, the admin page and `hotline users`."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select
from typer.testing import CliRunner

from agent_ui.accounts.models import LoginAudit, User, WebSession
from agent_ui.accounts.passwords import WeakPassword
from agent_ui.accounts.service import AccountError, create_user, get_user
from agent_ui.auth import SESSION_COOKIE
from cases.db import session_scope
from cases.models import utcnow
from hotline.cli import app as cli
from tests.console_helpers import DEPARTMENT, GRID, PASSWORD, login, login_form_token, make_user, session_csrf


def _post_login(client: TestClient, username: str, password: str, token: str | None = None) -> object:
    token = login_form_token(client) if token is None else token
    return client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token}, follow_redirects=False
    )


def _events(username: str) -> list[str]:
    with session_scope() as s:
        rows = s.exec(select(LoginAudit).where(LoginAudit.username == username).order_by(LoginAudit.id)).all()  # type: ignore[arg-type]
        return [r.event for r in rows]


def test_password_is_stored_as_an_argon2id_hash(env: object) -> None:
    make_user("li", "agent")
    with session_scope() as s:
        user = get_user(s, "li")
        assert user is not None
        assert user.password_hash.startswith("$argon2id$")
        assert PASSWORD not in user.password_hash


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"username": "Li Xiao", "role": "agent"}, "用户名"),
        ({"username": "wang", "role": "department"}, "所属单位"),
        ({"username": "wang", "role": "department", "department_code": "nowhere"}, "nowhere"),
        ({"username": "zhao", "role": "grid_worker"}, "网格"),
        ({"username": "zhao", "role": "agent", "grids": [GRID]}, "只有网格员"),
        ({"username": "qian", "role": "janitor"}, "未知角色"),
    ],
)
def test_create_user_refuses_bad_bindings(env: object, fields: dict[str, object], message: str) -> None:
    with session_scope() as s, pytest.raises(AccountError, match=message):
        create_user(s, password=PASSWORD, **fields)  # type: ignore[arg-type]


def test_short_password_is_refused(env: object) -> None:
    with session_scope() as s, pytest.raises(WeakPassword):
        create_user(s, username="li", role="agent", password="short")


def test_sign_in_sets_a_http_only_lax_cookie_and_audits(client: TestClient) -> None:
    make_user("li", "agent")
    r = _post_login(client, "li", PASSWORD)
    assert r.status_code == 303 and r.headers["location"] == "/console/"  # type: ignore[attr-defined]
    cookie = next(c for c in r.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE))  # type: ignore[attr-defined]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    assert _events("li") == ["success"]


def test_cookie_is_secure_when_the_site_is_https(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.conftest import reset_caches

    make_user("li", "agent")
    monkeypatch.setenv("HOTLINE_PUBLIC_BASE_URL", "https://12319.example.gov.cn")
    reset_caches()
    client.base_url = client.base_url.copy_with(scheme="https")  # Secure cookies travel only over https
    r = _post_login(client, "li", PASSWORD)
    cookie = next(c for c in r.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE))  # type: ignore[attr-defined]
    assert "Secure" in cookie


def test_wrong_password_is_refused_in_chinese_and_keeps_the_username(client: TestClient) -> None:
    make_user("li", "agent")
    r = _post_login(client, "li", "not-the-password")
    assert r.status_code == 401  # type: ignore[attr-defined]
    assert "用户名或密码错误" in r.text and 'value="li"' in r.text  # type: ignore[attr-defined]
    assert SESSION_COOKIE not in client.cookies
    unknown = _post_login(client, "nobody", "whatever-it-is")
    assert unknown.status_code == 401 and "用户名或密码错误" in unknown.text  # type: ignore[attr-defined]
    assert _events("li") == ["failure"] and _events("nobody") == ["failure"]


def test_sign_in_without_the_form_token_is_refused(client: TestClient) -> None:
    make_user("li", "agent")
    r = client.post("/login", data={"username": "li", "password": PASSWORD}, follow_redirects=False)
    assert r.status_code == 403 and "页面已过期" in r.text
    forged = _post_login(client, "li", PASSWORD, token="1700000000.0123456789abcdef0123456789abcdef")
    assert forged.status_code == 403  # type: ignore[attr-defined]
    assert _events("li") == []  # the password was not even tried


def test_repeated_failures_lock_the_account(client: TestClient) -> None:
    make_user("li", "agent")
    for _ in range(4):
        assert _post_login(client, "li", "wrong-password-x").status_code == 401  # type: ignore[attr-defined]
    fifth = _post_login(client, "li", "wrong-password-x")
    assert "已锁定" in fifth.text  # type: ignore[attr-defined]
    right = _post_login(client, "li", PASSWORD)
    assert right.status_code == 401 and "已锁定" in right.text  # type: ignore[attr-defined]
    assert _events("li") == ["failure"] * 4 + ["lockout", "locked"]
    with session_scope() as s:  # the lock-out ends
        user = get_user(s, "li")
        assert user is not None and user.locked_until is not None
        user.locked_until = utcnow() - timedelta(seconds=1)
        s.add(user)
    assert _post_login(client, "li", PASSWORD).status_code == 303  # type: ignore[attr-defined]


def test_a_disabled_account_cannot_sign_in_and_its_sessions_end(client: TestClient) -> None:
    make_user("li", "agent")
    login(client, "li")
    assert client.get("/account").status_code == 200
    result = CliRunner().invoke(cli, ["users", "disable", "li"])
    assert result.exit_code == 0, result.output
    r = client.get("/account", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert _post_login(client, "li", PASSWORD).status_code == 401  # type: ignore[attr-defined]


def test_idle_session_ends(client: TestClient) -> None:
    make_user("li", "agent")
    login(client, "li")
    with session_scope() as s:
        for row in s.exec(select(WebSession)):
            row.last_seen_at = utcnow() - timedelta(minutes=31)
            s.add(row)
    r = client.get("/account?tab=1", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/account%3Ftab%3D1"
    with session_scope() as s:
        assert s.exec(select(WebSession)).first() is None


def test_logout_needs_the_token_ends_the_session_and_is_audited(client: TestClient) -> None:
    make_user("li", "agent")
    csrf = login(client, "li")
    assert client.post("/logout", follow_redirects=False).status_code == 403
    assert client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False).status_code == 303
    assert client.get("/account", follow_redirects=False).status_code == 303
    assert _events("li") == ["success", "logout"]


def test_next_never_leaves_the_site(client: TestClient) -> None:
    make_user("li", "agent")
    token = login_form_token(client)
    r = client.post(
        "/login",
        data={"username": "li", "password": PASSWORD, "csrf_token": token, "next": "//evil.example/x"},
        follow_redirects=False,
    )
    assert r.headers["location"] == "/console/"


def test_htmx_request_without_session_is_told_where_to_sign_in(client: TestClient) -> None:
    r = client.get("/account", headers={"HX-Request": "true"}, follow_redirects=False)
    assert r.status_code == 401 and r.headers["HX-Redirect"].startswith("/login")


def test_change_own_password(client: TestClient) -> None:
    make_user("li", "agent")
    csrf = login(client, "li")
    bad = client.post(
        "/account/password", data={"csrf_token": csrf, "current": "nope", "new": "x" * 9, "repeat": "x" * 9}
    )
    assert bad.status_code == 422 and "当前密码不正确" in bad.text
    new = "new-password-2026"
    ok = client.post(
        "/account/password",
        data={"csrf_token": csrf, "current": PASSWORD, "new": new, "repeat": new},
        follow_redirects=False,
    )
    assert ok.status_code == 303
    assert client.get("/account", follow_redirects=False).status_code == 303  # signed out everywhere
    assert _post_login(client, "li", new).status_code == 303  # type: ignore[attr-defined]


# --- the admin page -----------------------------------------------------------------------------------


def test_admin_creates_a_department_user_and_errors_keep_what_was_typed(client: TestClient) -> None:
    make_user("root", "admin")
    csrf = login(client, "root")
    form = {"csrf_token": csrf, "username": "wang", "display_name": "王工", "role": "department", "password": PASSWORD}
    missing = client.post("/admin/users", data=form)
    assert missing.status_code == 422 and "所属单位" in missing.text and 'value="王工"' in missing.text
    created = client.post("/admin/users", data=form | {"department_code": DEPARTMENT}, follow_redirects=False)
    assert created.status_code == 303 and created.headers["location"] == "/admin/users/wang?done=created"
    page = client.get(created.headers["location"])
    assert "用户已创建" in page.text and "承办单位" in page.text
    with session_scope() as s:
        user = get_user(s, "wang")
        assert user is not None and user.department_code == DEPARTMENT


def test_admin_disables_resets_and_enables(client: TestClient) -> None:
    make_user("root", "admin")
    make_user("li", "agent")
    csrf = login(client, "root")
    assert client.post("/admin/users/li/disable", data={"csrf_token": csrf}, follow_redirects=False).status_code == 303
    assert client.post("/admin/users/root/disable", data={"csrf_token": csrf}).status_code == 409
    weak = client.post("/admin/users/li/password", data={"csrf_token": csrf, "password": "short"})
    assert weak.status_code == 422 and "至少 8 位" in weak.text
    client.post("/admin/users/li/password", data={"csrf_token": csrf, "password": "fresh-password-1"})
    client.post("/admin/users/li/enable", data={"csrf_token": csrf})
    with session_scope() as s:
        user = s.exec(select(User).where(User.username == "li")).one()
        assert user.active
    client.cookies.clear()
    assert _post_login(client, "li", "fresh-password-1").status_code == 303  # type: ignore[attr-defined]


def test_user_text_on_the_admin_page_is_escaped(client: TestClient) -> None:
    make_user("root", "admin")
    make_user("li", "agent", display_name="<script>alert(1)</script>")
    login(client, "root")
    page = client.get("/admin/users").text
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_pages_carry_a_content_security_policy(client: TestClient) -> None:
    make_user("li", "agent")
    login(client, "li")
    r = client.get("/account")
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert "unsafe-inline" not in r.headers["content-security-policy"]
    assert r.headers["cache-control"] == "no-store"
    assert session_csrf(client)


# --- hotline users --------------------------------------------------------------------------------------


def test_cli_users_create_list_reset(env: object) -> None:
    runner = CliRunner()
    no_stdin = runner.invoke(cli, ["users", "create", "li", "--role", "agent"])
    assert no_stdin.exit_code == 2 and "--password-stdin" in no_stdin.output
    made = runner.invoke(
        cli,
        ["users", "create", "wang", "--role", "department", "--department", DEPARTMENT, "--password-stdin"],
        input=PASSWORD + "\n",
    )
    assert made.exit_code == 0, made.output
    grid = runner.invoke(
        cli, ["users", "create", "zhao", "--role", "grid_worker", "--grid", GRID, "--password-stdin"], input=PASSWORD
    )
    assert grid.exit_code == 0, grid.output
    bad = runner.invoke(cli, ["users", "create", "qian", "--role", "department", "--password-stdin"], input=PASSWORD)
    assert bad.exit_code == 2 and "所属单位" in bad.output
    listed = runner.invoke(cli, ["users", "list"])
    assert "wang" in listed.output and "zhao" in listed.output and GRID in listed.output
    assert (
        runner.invoke(cli, ["users", "reset-password", "wang", "--password-stdin"], input="new-pass-2026").exit_code
        == 0
    )
    assert runner.invoke(cli, ["users", "disable", "nobody"]).exit_code == 1
    with session_scope() as s:
        assert get_user(s, "wang") is not None
