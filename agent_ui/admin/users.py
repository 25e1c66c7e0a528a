"""`/admin/users`: list, create, disable, enable, reset a password; each account's sign-in history."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field, ValidationError
from sqlmodel import Session

from agent_ui.accounts.models import User
from agent_ui.accounts.passwords import WeakPassword
from agent_ui.accounts.roles import ROLE_LABELS_ZH, Role
from agent_ui.accounts.service import (
    AccountError,
    create_user,
    get_user,
    list_users,
    login_history,
    reset_password,
    set_active,
)
from agent_ui.auth import AdminUser
from agent_ui.templating import render
from cases.reference import reference_names
from intake.deps import DbSession

router = APIRouter(prefix="/admin", include_in_schema=False)

# What a redirect after a change tells the admin: a fixed code in the URL, never text from the URL.
NOTICES = {
    "created": "用户已创建",
    "disabled": "已停用，该用户已被登出",
    "enabled": "已启用",
    "password": "密码已重置，该用户需重新登录",
}


class NewUser(BaseModel):
    username: str = Field(max_length=32)
    display_name: str = Field(default="", max_length=50)
    role: str = Field(max_length=16)
    department_code: str = Field(default="", max_length=32)
    grids: str = Field(default="", max_length=500)  # codes separated by spaces, commas or 、
    phone: str = Field(default="", max_length=32)
    password: str = Field(max_length=200)

    def grid_codes(self) -> list[str]:
        return [g for g in self.grids.replace("、", " ").replace(",", " ").replace("，", " ").split() if g]


def _choices() -> dict[str, Any]:
    names = reference_names()
    return {
        "roles": [(r.value, ROLE_LABELS_ZH[r]) for r in Role],
        "departments": sorted((code, d.name) for code, d in names.departments.items()),
        "department_names": {code: d.name for code, d in names.departments.items()},
    }


def _list_page(
    request: Request, db: Session, *, form: dict[str, str] | None = None, error: str | None = None, status: int = 200
) -> HTMLResponse:
    return render(
        request,
        "admin/users.html",
        status_code=status,
        nav="users",
        users=list_users(db),
        history=login_history(db, limit=30),
        form=form or {},
        error=error,
        notice=NOTICES.get(request.query_params.get("done", "")),
        **_choices(),
    )


@router.get("/users", response_class=HTMLResponse)
def users(request: Request, db: DbSession, admin: AdminUser) -> HTMLResponse:
    return _list_page(request, db)


@router.post("/users", response_class=HTMLResponse)
def create(
    request: Request,
    db: DbSession,
    admin: AdminUser,
    username: Annotated[str, Form()] = "",
    display_name: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "",
    department_code: Annotated[str, Form()] = "",
    grids: Annotated[str, Form()] = "",
    phone: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
) -> Response:
    typed = {"username": username, "display_name": display_name, "role": role}
    typed |= {"department_code": department_code, "grids": grids, "phone": phone}
    try:
        form = NewUser(**typed, password=password)
        create_user(
            db,
            username=form.username,
            role=form.role,
            password=form.password,
            display_name=form.display_name,
            department_code=form.department_code or None,
            grids=form.grid_codes(),
            phone=form.phone or None,
        )
    except ValidationError:
        return _list_page(request, db, form=typed, error="输入过长，请检查各项内容", status=422)
    except (AccountError, WeakPassword) as exc:
        return _list_page(request, db, form=typed, error=str(exc), status=422)
    return RedirectResponse(f"/admin/users/{form.username.strip().lower()}?done=created", status_code=303)


def _user(db: Session, username: str) -> User:
    user = get_user(db, username)
    if user is None:
        raise HTTPException(404, "没有这个用户")
    return user


@router.get("/users/{username}", response_class=HTMLResponse)
def user_page(request: Request, db: DbSession, admin: AdminUser, username: str) -> HTMLResponse:
    user = _user(db, username)
    return render(
        request,
        "admin/user.html",
        nav="users",
        user=user,
        history=login_history(db, user=user, limit=50),
        notice=NOTICES.get(request.query_params.get("done", "")),
        department_name=reference_names().department(user.department_code),
    )


@router.post("/users/{username}/disable")
def disable(db: DbSession, admin: AdminUser, username: str) -> Response:
    user = _user(db, username)
    if user.id == admin.user.id:
        raise HTTPException(409, "不能停用自己的账号")
    set_active(db, user, False)
    return RedirectResponse(f"/admin/users/{user.username}?done=disabled", status_code=303)


@router.post("/users/{username}/enable")
def enable(db: DbSession, admin: AdminUser, username: str) -> Response:
    user = _user(db, username)
    set_active(db, user, True)
    return RedirectResponse(f"/admin/users/{user.username}?done=enabled", status_code=303)


@router.post("/users/{username}/password", response_class=HTMLResponse)
def new_password(
    request: Request,
    db: DbSession,
    admin: AdminUser,
    username: str,
    password: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    user = _user(db, username)
    try:
        reset_password(db, user, password)
    except WeakPassword as exc:
        page = render(
            request,
            "admin/user.html",
            status_code=422,
            nav="users",
            user=user,
            history=login_history(db, user=user, limit=50),
            error=str(exc),
            department_name=reference_names().department(user.department_code),
        )
        return page
    return RedirectResponse(f"/admin/users/{user.username}?done=password", status_code=303)
