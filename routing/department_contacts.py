"""How a department is reached, maintained by an admin: its contacts (值班联系人 / 负责人, name and mobile
for SMS) and its webhook (URL and signing secret).

Contacts are kept as versions, FixMyStreet's contacts history: a change never edits a row, it writes a
new one (who, when) and retires the one it replaces (`active` false); removing a contact writes a row
saying so. The rows of a department, newest first, are its history; the active ones are its contacts.
A notice names the contact version it was written for and is sent to its current version
(`routing.notices.current_contact`).

The webhook's secret signs every delivery (HMAC-SHA256), so it is stored as it is; it is shown to the
admin once, when it is made or regenerated, and never again.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlmodel import Session, col, select

from cases.models import Department, utcnow
from cases.phone import InvalidPhone, normalize_phone
from cases.reference import InvalidInput, actor_id
from routing.models import ContactRole, DepartmentContact, DepartmentWebhook

ROLE_ZH = {ContactRole.DUTY.value: "值班联系人", ContactRole.HEAD.value: "负责人"}
REMOVED_PHONE = ""  # the phone of a row that records a removal


class ContactError(InvalidInput):
    """A change an admin asked for that cannot be made; the message says why, in Chinese."""


def _department(session: Session, code: str) -> Department:
    row = session.get(Department, code)
    if row is None:
        raise ContactError("没有这个承办单位")
    return row


def departments(session: Session) -> list[Department]:
    return list(session.exec(select(Department).order_by(col(Department.code))))


def contacts_of(session: Session, department_code: str) -> list[DepartmentContact]:
    """The department's current contacts, duty contacts first."""
    rows = session.exec(
        select(DepartmentContact).where(
            DepartmentContact.department_code == department_code, col(DepartmentContact.active).is_(True)
        )
    )
    return sorted(rows, key=lambda c: (c.role != ContactRole.DUTY.value, c.id or 0))


def contact_counts(session: Session) -> dict[str, dict[str, int]]:
    """department code → role → active contacts (for the departments' list)."""
    counts: dict[str, dict[str, int]] = {}
    for code, role in session.exec(
        select(DepartmentContact.department_code, DepartmentContact.role).where(col(DepartmentContact.active).is_(True))
    ):
        per = counts.setdefault(code, {})
        per[role] = per.get(role, 0) + 1
    return counts


def contact_history(session: Session, department_code: str, limit: int = 50) -> list[DepartmentContact]:
    """Every version of the department's contacts, newest first (a removal has an empty phone)."""
    query = (
        select(DepartmentContact)
        .where(DepartmentContact.department_code == department_code)
        .order_by(col(DepartmentContact.updated_at).desc(), col(DepartmentContact.id).desc())
    )
    return list(session.exec(query.limit(limit)))


def mobile(raw: str) -> str:
    """A mobile number that can receive SMS, normalised (E.164), or ContactError."""
    try:
        phone = normalize_phone(raw)
    except InvalidPhone:
        phone = None
    if phone is None or (phone.startswith("+86") and not (len(phone) == 14 and phone[3] == "1")):
        raise ContactError("请填写能接收短信的手机号码（11 位）")
    return phone


def _checked(name: str, role: str) -> tuple[str, str]:
    name = " ".join(name.split())
    if not name or len(name) > 50:
        raise ContactError("请填写联系人姓名（50 字以内）")
    if role not in ROLE_ZH:
        raise ContactError("请选择联系人类别：值班联系人或负责人")
    return name, role


def _current(session: Session, department_code: str, contact_id: int) -> DepartmentContact:
    row = session.get(DepartmentContact, contact_id)
    if row is None or row.department_code != department_code or not row.active:
        raise ContactError("该联系人不存在或已被修改，请刷新页面")
    return row


def save_contact(
    session: Session,
    department_code: str,
    *,
    name: str,
    phone: str,
    role: str,
    actor: str,
    replaces: int | None = None,
) -> DepartmentContact:
    """Add a contact, or (`replaces`: the id of a current one) change it: a new version either way."""
    _department(session, department_code)
    name, role = _checked(name, role)
    number = mobile(phone)
    now = utcnow()
    if replaces is not None:
        old = _current(session, department_code, replaces)
        old.active = False
        session.add(old)
    row = DepartmentContact(
        department_code=department_code, name=name, phone=number, role=role, updated_by=actor_id(actor), updated_at=now
    )
    session.add(row)
    session.flush()
    return row


def remove_contact(session: Session, department_code: str, contact_id: int, *, actor: str) -> DepartmentContact:
    """Retire a contact; the row written says who removed it and when."""
    old = _current(session, department_code, contact_id)
    old.active = False
    session.add(old)
    marker = DepartmentContact(
        department_code=department_code,
        name=old.name,
        phone=REMOVED_PHONE,
        role=old.role,
        active=False,
        updated_by=actor_id(actor),
        updated_at=utcnow(),
    )
    session.add(marker)
    session.flush()
    return marker


# --- the webhook -------------------------------------------------------------------------------------------


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def webhook_of(session: Session, department_code: str) -> DepartmentWebhook | None:
    return session.get(DepartmentWebhook, department_code)


def _url(raw: str) -> str:
    url = raw.strip()
    parts = urlsplit(url)
    if len(url) > 500 or parts.scheme not in ("http", "https") or not parts.hostname or parts.username:
        raise ContactError("接口地址须为 http:// 或 https:// 开头的完整网址（500 字符以内，不含用户名密码）")
    return url


@dataclass(frozen=True)
class WebhookSaved:
    webhook: DepartmentWebhook
    secret: str | None  # the new secret, to show once; None when it was kept


def save_webhook(session: Session, department_code: str, *, url: str, active: bool, actor: str) -> WebhookSaved:
    """Set the department's webhook URL (and whether it is used). The first save makes a secret."""
    _department(session, department_code)
    checked = _url(url)
    hook = session.get(DepartmentWebhook, department_code)
    secret: str | None = None
    if hook is None:
        secret = new_secret()
        hook = DepartmentWebhook(department_code=department_code, url=checked, secret=secret)
    hook.url, hook.active = checked, active
    hook.updated_by, hook.updated_at = actor_id(actor), utcnow()
    session.add(hook)
    session.flush()
    return WebhookSaved(hook, secret)


def regenerate_secret(session: Session, department_code: str, *, actor: str) -> WebhookSaved:
    """A new signing secret (the old one stops working at once); returned to show once."""
    hook = session.get(DepartmentWebhook, department_code)
    if hook is None:
        raise ContactError("该单位还没有配置接口推送")
    hook.secret = new_secret()
    hook.updated_by, hook.updated_at = actor_id(actor), utcnow()
    session.add(hook)
    session.flush()
    return WebhookSaved(hook, hook.secret)


def secret_hint(hook: DepartmentWebhook) -> str:
    """What the page shows of a stored secret: its kind and last four characters."""
    return f"whsec_…{hook.secret[-4:]}" if hook.secret else "—"
