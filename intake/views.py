"""Plain-dict views of reports and cases for the JSON API (phones masked, statuses labelled)."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from cases.lifecycle import LABELS_ZH, CaseStatus
from cases.models import Case, Report
from cases.phone import mask_phone
from cases.queries import case_detail


def report_view(report: Report, case_number: str | None, base_url: str) -> dict[str, Any]:
    return {
        "id": report.id,
        "channel": report.channel,
        "external_id": report.external_id,
        "received_at": report.received_at.isoformat(),
        "text": report.text,
        "phone": mask_phone(report.phone),
        "location": {"lat": report.lat, "lon": report.lon, "address": report.address},
        "attachments": report.attachments,
        # Coarse state only: the pipeline's error text (SQL, parameters, tracebacks) stays in the logs.
        "processing_status": report.processing_status,
        "attempts": report.attempts,
        "case_number": case_number,
        "case_url": f"{base_url}/api/v1/cases/{case_number}" if case_number else None,
    }


def case_view(session: Session, case: Case) -> dict[str, Any]:
    detail = case_detail(session, case)
    return {
        "number": case.number,
        "status": case.status,
        "status_label": LABELS_ZH[CaseStatus(case.status)],
        "title": case.title,
        "category": {
            "code": case.category_code,
            "name": detail.category_name,
            "confidence": case.category_confidence,
        },
        "grid": {
            "code": case.grid_code,
            "name": detail.grid_name,
            "confidence": case.grid_confidence,
            "source": case.grid_source,
        },
        "grade": case.grade,
        "department": {"code": case.department_code, "name": detail.department_name},
        "needs_review": case.needs_review,
        "dispatch_deadline": case.dispatch_deadline.isoformat() if case.dispatch_deadline else None,
        "handle_deadline": case.handle_deadline.isoformat() if case.handle_deadline else None,
        "created_at": case.created_at.isoformat(),
        "updated_at": case.updated_at.isoformat(),
        "closed_at": case.closed_at.isoformat() if case.closed_at else None,
        "reports": [
            {"id": r.id, "channel": r.channel, "received_at": r.received_at.isoformat(), "phone": mask_phone(r.phone)}
            for r in detail.reports
        ],
        "timeline": [
            {
                "at": e.at.isoformat(),
                "actor": e.actor,
                "action": e.action,
                "from_status": e.from_status,
                "to_status": e.to_status,
                "reason": e.reason,
                "data": e.data,
            }
            for e in detail.events
        ],
    }
