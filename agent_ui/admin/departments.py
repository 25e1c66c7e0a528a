"""`/admin/departments`: how each department is reached — its contacts (值班联系人 / 负责人) with their
history, and its webhook (URL, a secret shown once, regenerate) — and `/admin/notices`: department notices
that failed (or whose job was lost), each with a retry."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from agent_ui.auth import AdminUser
from agent_ui.templating import render
from cases.models import Department
from intake.deps import DbSession
from routing import department_contacts as dc
from routing import notices
from routing.models import ContactRole

router = APIRouter(prefix="/admin", include_in_schema=False)

# What a redirect after a change tells the admin: a fixed code in the URL, never text from the URL.
DONE = {
    "added": "联系人已添加",
    "changed": "联系人已修改（原记录保留在修改历史中）",
    "removed": "联系人已删除",
    "webhook": "接口推送设置已保存",
    "retried": "已重新发送",
}
ROLES = [(r.value, dc.ROLE_ZH[r.value]) for r in ContactRole]
RowId = Annotated[int, Path(ge=1, lt=2**31)]


def _department(db: Session, code: str) -> Department:
    row = db.get(Department, code[:32])
    if row is None:
        raise HTTPException(404, "没有这个承办单位")
    return row


def _department_page(
    request: Request,
    db: Session,
    department: Department,
    *,
    form: dict[str, str] | None = None,
    error: str | None = None,
    webhook_error: str | None = None,
    secret: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    hook = dc.webhook_of(db, department.code)
    return render(
        request,
        "admin/department.html",
        status_code=status,
        nav="departments",
        department=department,
        contacts=dc.contacts_of(db, department.code),
        history=dc.contact_history(db, department.code),
        hook=hook,
        secret_hint=dc.secret_hint(hook) if hook else None,
        secret=secret,
        roles=ROLES,
        role_zh=dc.ROLE_ZH,
        form=form or {},
        error=error,
        webhook_error=webhook_error,
        notice=DONE.get(request.query_params.get("done", "")),
    )


@router.get("/departments", response_class=HTMLResponse)
def departments(request: Request, db: DbSession, admin: AdminUser) -> HTMLResponse:
    return render(
        request,
        "admin/departments.html",
        nav="departments",
        departments=dc.departments(db),
        counts=dc.contact_counts(db),
        hooks={d.code: dc.webhook_of(db, d.code) for d in dc.departments(db)},
        role_zh=dc.ROLE_ZH,
    )


@router.get("/departments/{code}", response_class=HTMLResponse)
def department(request: Request, db: DbSession, admin: AdminUser, code: str) -> HTMLResponse:
    return _department_page(request, db, _department(db, code))


def _contact_id(raw: str) -> int | None:
    value = raw.strip()
    if not value:
        return None
    if not value.isdigit() or len(value) > 12:
        raise dc.ContactError("要修改的联系人无效，请刷新页面")
    return int(value)


@router.post("/departments/{code}/contacts", response_class=HTMLResponse)
def save_contact(
    request: Request,
    db: DbSession,
    admin: AdminUser,
    code: str,
    name: Annotated[str, Form()] = "",
    phone: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "",
    replaces: Annotated[str, Form()] = "",
) -> Response:
    """Add a contact, or with `replaces` change one (a new version; the old one stays in the history)."""
    row = _department(db, code)
    typed = {"name": name[:50], "phone": phone[:32], "role": role[:8], "replaces": replaces[:12]}
    try:
        dc.save_contact(
            db, row.code, name=name, phone=phone, role=role, actor=admin.actor, replaces=_contact_id(replaces)
        )
    except dc.ContactError as exc:
        return _department_page(request, db, row, form=typed, error=str(exc), status=422)
    done = "changed" if replaces.strip() else "added"
    return RedirectResponse(f"/admin/departments/{row.code}?done={done}", status_code=303)


@router.post("/departments/{code}/contacts/{contact_id}/remove", response_class=HTMLResponse)
def remove_contact(request: Request, db: DbSession, admin: AdminUser, code: str, contact_id: RowId) -> Response:
    row = _department(db, code)
    try:
        dc.remove_contact(db, row.code, contact_id, actor=admin.actor)
    except dc.ContactError as exc:
        return _department_page(request, db, row, error=str(exc), status=422)
    return RedirectResponse(f"/admin/departments/{row.code}?done=removed", status_code=303)


@router.post("/departments/{code}/webhook", response_class=HTMLResponse)
def save_webhook(
    request: Request,
    db: DbSession,
    admin: AdminUser,
    code: str,
    url: Annotated[str, Form()] = "",
    active: Annotated[str, Form()] = "",
) -> Response:
    """Set the URL; the first time, the new secret is shown on the page this answers with (and never again)."""
    row = _department(db, code)
    try:
        saved = dc.save_webhook(db, row.code, url=url, active=active == "on", actor=admin.actor)
    except dc.ContactError as exc:
        return _department_page(request, db, row, form={"url": url[:500]}, webhook_error=str(exc), status=422)
    if saved.secret is not None:
        return _department_page(request, db, row, secret=saved.secret)
    return RedirectResponse(f"/admin/departments/{row.code}?done=webhook", status_code=303)


@router.post("/departments/{code}/webhook/secret", response_class=HTMLResponse)
def regenerate_secret(request: Request, db: DbSession, admin: AdminUser, code: str) -> Response:
    row = _department(db, code)
    try:
        saved = dc.regenerate_secret(db, row.code, actor=admin.actor)
    except dc.ContactError as exc:
        return _department_page(request, db, row, webhook_error=str(exc), status=422)
    return _department_page(request, db, row, secret=saved.secret)


def _notices_context(db: Session) -> dict[str, Any]:
    rows = notices.problem_notices(db)
    return {
        "nav": "notices",
        "rows": rows,
        "numbers": notices.notice_case_numbers(db, rows),
        "departments": {d.code: d.name for d in dc.departments(db)},
        "event_zh": notices.EVENT_ZH,
        "channel_zh": notices.CHANNEL_ZH,
        "state_zh": notices.STATE_ZH,
    }


@router.get("/notices", response_class=HTMLResponse)
def failed_notices(request: Request, db: DbSession, admin: AdminUser) -> HTMLResponse:
    return render(
        request, "admin/notices.html", notice=DONE.get(request.query_params.get("done", "")), **_notices_context(db)
    )


@router.post("/notices/{notice_id}/retry", response_class=HTMLResponse)
def retry(request: Request, db: DbSession, admin: AdminUser, notice_id: RowId) -> Response:
    try:
        notices.retry_notice(db, notice_id, admin.actor)
    except notices.NoticeError as exc:
        return render(request, "admin/notices.html", status_code=409, error=str(exc), **_notices_context(db))
    return RedirectResponse("/admin/notices?done=retried", status_code=303)
