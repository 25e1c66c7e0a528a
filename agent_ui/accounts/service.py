"""Use cases on accounts, shared by `hotline users` and the admin page: create, list, disable, enable,
reset a password, and sign in with lock-out. They flush; the caller commits."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from agent_ui.accounts.models import LoginAudit, User
from agent_ui.accounts.passwords import hash_password, needs_rehash, verify_password
from agent_ui.accounts.roles import ACTOR_KIND, LoginEvent, Role
from agent_ui.accounts.sessions import session_store
from agent_ui.settings import console_settings
from cases.models import utcnow
from cases.phone import InvalidPhone, normalize_phone
from cases.reference import InvalidInput, check_department, check_grid

USERNAME = re.compile(r"[a-z][a-z0-9_.-]{1,31}")


class AccountError(InvalidInput):
    """The account change cannot be made as asked (the message says why, in Chinese, for a person)."""


def actor_of(user: User) -> str:
    """The user as the audit trail names them: `agent:li`, `dept:wang`…"""
    return f"{ACTOR_KIND[Role(user.role)]}:{user.username}"


def get_user(session: Session, username: str) -> User | None:
    return session.exec(select(User).where(User.username == username.strip().lower())).first()


def list_users(session: Session, role: Role | None = None) -> list[User]:
    query = select(User).order_by(col(User.username))
    if role is not None:
        query = query.where(User.role == role.value)
    return list(session.exec(query))


def _check_binding(session: Session, role: Role, department: str | None, grids: Sequence[str]) -> None:
    if role == Role.DEPARTMENT and not department:
        raise AccountError("承办单位账号必须指定所属单位（--department）")
    if role != Role.DEPARTMENT and department:
        raise AccountError("只有承办单位账号可以指定所属单位")
    if role == Role.GRID_WORKER and not grids:
        raise AccountError("网格员账号至少指定一个网格（--grid）")
    if role != Role.GRID_WORKER and grids:
        raise AccountError("只有网格员账号可以指定网格")
    try:
        if department:
            check_department(session, department)
        for grid in grids:
            check_grid(session, grid)
    except InvalidInput:
        raise AccountError(f"所属单位 {department} 或网格 {'、'.join(grids)} 不存在，请检查编码") from None


def create_user(
    session: Session,
    *,
    username: str,
    role: Role | str,
    password: str,
    display_name: str = "",
    department_code: str | None = None,
    grids: Sequence[str] = (),
    phone: str | None = None,
) -> User:
    name = username.strip().lower()
    if not USERNAME.fullmatch(name):
        raise AccountError("用户名须以小写字母开头，2–32 位小写字母、数字、点、下划线或连字符")
    try:
        the_role = Role(role)
    except ValueError:
        raise AccountError(f"未知角色 {role!r}：可选 {', '.join(r.value for r in Role)}") from None
    if get_user(session, name) is not None:
        raise AccountError(f"用户名 {name} 已存在")
    _check_binding(session, the_role, department_code, grids)
    user = User(
        username=name,
        display_name=display_name.strip()[:50] or name,
        role=the_role.value,
        department_code=department_code,
        grids=list(dict.fromkeys(grids)),
        phone=_phone(phone),
        password_hash=hash_password(password),
    )
    session.add(user)
    session.flush()
    return user


def _phone(raw: str | None) -> str | None:
    if not raw:
        return None
    try:
        return normalize_phone(raw)
    except InvalidPhone:
        raise AccountError("电话号码无效") from None


def set_active(session: Session, user: User, active: bool) -> User:
    """Enable (also lifting a lock-out) or disable an account; a disabled one's sessions end now."""
    user.active = active
    if active:
        user.failed_logins, user.locked_until = 0, None
    session.add(user)
    session.flush()
    if not active:
        _end_sessions(session, user)
    return user


def reset_password(session: Session, user: User, password: str) -> User:
    """A new password (lifts a lock-out); every session of the user ends, so each signs in with it."""
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    user.failed_logins, user.locked_until = 0, None
    session.add(user)
    session.flush()
    _end_sessions(session, user)
    return user


def _end_sessions(session: Session, user: User) -> None:
    assert user.id is not None
    session_store().delete_for_user(session, user.id)


def update_user(
    session: Session,
    user: User,
    *,
    display_name: str | None = None,
    phone: str | None = None,
    department_code: str | None = None,
    grids: Sequence[str] | None = None,
) -> User:
    """Change what an account is bound to; its role stays (a new role is a new account)."""
    new_department = department_code if department_code is not None else user.department_code
    new_grids = list(grids) if grids is not None else user.grids
    _check_binding(session, Role(user.role), new_department or None, new_grids)
    if display_name is not None:
        user.display_name = display_name.strip()[:50] or user.username
    if phone is not None:
        user.phone = _phone(phone)
    user.department_code, user.grids = new_department or None, list(dict.fromkeys(new_grids))
    session.add(user)
    session.flush()
    return user


# --- signing in -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SignIn:
    user: User | None
    event: LoginEvent

    @property
    def ok(self) -> bool:
        return self.user is not None and self.event == LoginEvent.SUCCESS


def audit(
    session: Session,
    event: LoginEvent,
    username: str,
    *,
    user: User | None = None,
    ip: str | None = None,
    user_agent: str | None = None,
) -> None:
    session.add(
        LoginAudit(
            username=username.strip().lower()[:32],
            user_id=user.id if user else None,
            event=event.value,
            ip=(ip or None) and ip[:64],
            user_agent=(user_agent or None) and user_agent[:200],
        )
    )
    session.flush()


def _locked(user: User, now: datetime) -> bool:
    return user.locked_until is not None and user.locked_until > now


def authenticate(
    session: Session, username: str, password: str, *, ip: str | None = None, user_agent: str | None = None
) -> SignIn:
    """Check a password, count failures, lock the account after too many in a row, audit the attempt.
    A disabled or unknown account fails like a wrong password (the page says the same for all)."""
    settings, now = console_settings(), utcnow()
    user = get_user(session, username)
    if user is not None and _locked(user, now):
        verify_password(None, password)  # same cost as a real check
        result = SignIn(None, LoginEvent.LOCKED)
    elif user is not None and user.active and verify_password(user.password_hash, password):
        if needs_rehash(user.password_hash):
            user.password_hash = hash_password(password)
        user.failed_logins, user.locked_until, user.last_login_at = 0, None, now
        session.add(user)
        result = SignIn(user, LoginEvent.SUCCESS)
    else:
        if user is None:
            verify_password(None, password)
        result = SignIn(None, _count_failure(session, user, now, settings.login_max_failures))
    audit(session, result.event, username, user=user, ip=ip, user_agent=user_agent)
    return result


def _count_failure(session: Session, user: User | None, now: datetime, max_failures: int) -> LoginEvent:
    if user is None:
        return LoginEvent.FAILURE
    user.failed_logins += 1
    event = LoginEvent.FAILURE
    if user.failed_logins >= max_failures:
        user.locked_until = now + timedelta(minutes=console_settings().login_lockout_minutes)
        user.failed_logins = 0
        event = LoginEvent.LOCKOUT
    session.add(user)
    return event


def login_history(session: Session, *, user: User | None = None, limit: int = 100) -> list[LoginAudit]:
    query = select(LoginAudit).order_by(col(LoginAudit.at).desc(), col(LoginAudit.id).desc()).limit(limit)
    if user is not None:
        query = query.where(LoginAudit.user_id == user.id)
    return list(session.exec(query))
