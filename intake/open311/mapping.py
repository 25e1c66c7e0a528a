"""Our model in GeoReport v2 terms: 事件 categories are services, cases are service requests.

Statuses: 结案 / 不予立案 / 合并 are `closed`, everything else is `open`; the Chinese status (and the
reason for a rejection or merge) goes to `status_notes`. The handle deadline is `expected_datetime`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session, col, select

from cases.lifecycle import LABELS_ZH, TERMINAL, CaseStatus
from cases.models import Case, CaseEvent, Category
from cases.queries import case_reports
from cases.reference import reference_names, short_category_name
from cases.sanitize import has_unsafe

CLOSED = {s.value for s in TERMINAL}
# Requests are public by the spec, but a resident's own words (an SMS, a call) often carry their number.
PHONE_LIKE = re.compile(r"\+?\d[\d \-]{5,}\d")


def public_text(text: str) -> str:
    """The text with phone-like digit runs (7 digits or more) hidden."""
    return PHONE_LIKE.sub(lambda m: "***" if sum(c.isdigit() for c in m.group()) >= 7 else m.group(), text)


def w3c(dt: datetime | None) -> str | None:
    """W3C datetime with offset, as the spec's examples (2010-04-14T06:37:38-08:00)."""
    return dt.astimezone(UTC).isoformat(timespec="seconds") if dt else None


def service_row(cat: Category) -> dict[str, Any]:
    return {
        "service_code": cat.code,
        "service_name": cat.name,
        "description": f"{cat.major_name} · {cat.name}",
        "metadata": False,  # no extra attributes: description, location and photos say enough
        "type": "realtime",
        "keywords": short_category_name(cat.name),
        "group": cat.major_name,
    }


def services(session: Session) -> list[Category]:
    return list(
        session.exec(select(Category).where(Category.kind == "事件", Category.active).order_by(col(Category.code)))
    )


def service(session: Session, code: str) -> Category | None:
    if has_unsafe(code):  # PostgreSQL refuses NUL in a query; no code holds one
        return None
    return session.exec(select(Category).where(Category.kind == "事件", Category.code == code, Category.active)).first()


def open_or_closed(case: Case) -> str:
    return "closed" if case.status in CLOSED else "open"


def _status_notes(session: Session, case: Case) -> str:
    label = LABELS_ZH[CaseStatus(case.status)]
    if case.status in (CaseStatus.REJECTED.value, CaseStatus.MERGED.value):
        ev = session.exec(
            select(CaseEvent)
            .where(CaseEvent.case_id == case.id, CaseEvent.to_status == case.status)
            .order_by(col(CaseEvent.id).desc())
        ).first()
        if ev and ev.reason:
            return f"{label}：{ev.reason}"
    return label


def media_url(ref: str, base_url: str) -> str:
    if ref.startswith("att_"):
        return f"{base_url}/attachments/{ref}"
    return ref


def request_row(session: Session, case: Case, base_url: str) -> dict[str, Any]:
    """`base_url`: intake.urls.base_url of the request being answered."""
    first = next(iter(case_reports(session, case.id)), None)
    names = reference_names()
    return {
        "service_request_id": case.number,
        "status": open_or_closed(case),
        "status_notes": _status_notes(session, case),
        "service_name": names.category(case.category_code, active_only=True),  # a service Open311 lists
        "service_code": case.category_code,
        "description": public_text(first.text if first else case.title),
        "agency_responsible": names.department(case.department_code),
        "service_notice": None,
        "requested_datetime": w3c(case.created_at),
        "updated_datetime": w3c(case.updated_at),
        "expected_datetime": w3c(case.handle_deadline),
        "address": first.address if first else None,
        "address_id": None,
        "zipcode": None,
        "lat": first.lat if first else None,
        "long": first.lon if first else None,
        "media_url": media_url(first.attachments[0], base_url) if first and first.attachments else None,
    }
