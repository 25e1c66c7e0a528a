"""The case page's view model: the read models of the case (routing.case_context), of what came with its
reports (case_media) and of who its actors are (accounts.directory), worded by agent_ui.presenters.
Reads only: the page, its htmx partials and its JSON twin all start here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session

from agent_ui import presenters
from agent_ui.accounts.directory import display_names
from agent_ui.workbench.case_media import ReportMedia, SmsLine, report_media, sms_thread
from cases.access import Reader
from cases.lifecycle import TERMINAL, Action, CaseStatus, allowed_actions
from cases.models import Report, utcnow
from cases.phone import mask_phone
from cases.queries import local
from cases.reference import reference_names
from routing.case_context import CaseContext, case_context
from routing.explain import Explanation
from routing.explanations import case_explanation

# Which deadline still runs: the dispatch deadline until someone dispatches, the handling one until the
# department reports the work done.
WAITING_FOR_DISPATCH = frozenset({CaseStatus.REGISTERED, CaseStatus.RETURNED, CaseStatus.REOPENED})
HANDLED = frozenset({CaseStatus.HANDLED, CaseStatus.VERIFIED, CaseStatus.SURVEYED})


@dataclass(frozen=True)
class ReportItem:
    report: Report
    channel_label: str
    channel_icon: str
    phone_masked: str | None
    media: ReportMedia


@dataclass(frozen=True)
class CasePage:
    ctx: CaseContext
    number: str
    timeline: list[presenters.EventLine]
    reports: list[ReportItem]
    sms: list[SmsLine]
    map: presenters.MapDrawing | None
    dispatch_due: str
    handle_due: str
    open: bool
    mergeable: bool = False  # 合并 is a move this case can make now (上报 / 已立案)
    decision: Explanation | None = None  # why it is where it is (its latest decision record)


def case_page(session: Session, reader: Reader, number: str, now: datetime | None = None) -> CasePage | None:
    now = now or utcnow()
    ctx = case_context(session, reader, number, now=now)
    if ctx is None:
        return None
    case = ctx.case
    names = reference_names()
    people = display_names(session, (e.actor for e in ctx.events))
    lines = presenters.describe_events(ctx.events, people=people, names=names, local=local)
    reports = [_item(session, r) for r in ctx.reports]
    phones = list(dict.fromkeys(r.phone for r in ctx.reports if r.phone))
    drawing = presenters.project_map(ctx.map.grid, ctx.map.neighbours, ctx.map.point) if ctx.map is not None else None
    status = CaseStatus(case.status)
    done = status in TERMINAL
    return CasePage(
        ctx=ctx,
        number=case.number,
        timeline=lines,
        reports=reports,
        sms=sms_thread(session, case, phones, now=now),
        map=drawing,
        dispatch_due=presenters.deadline_class(case.dispatch_deadline, now, status not in WAITING_FOR_DISPATCH),
        handle_due=presenters.deadline_class(case.handle_deadline, now, done or status in HANDLED),
        open=not done,
        mergeable=Action.MERGE in allowed_actions(case.status),
        decision=case_explanation(session, case.id, lambda actor: presenters.actor_label(actor, people)),
    )


def _item(session: Session, report: Report) -> ReportItem:
    label, icon = presenters.channel_of(report.channel, bool(report.hints.get("voicemail")))
    return ReportItem(report, label, icon, mask_phone(report.phone), report_media(session, report))


def as_json(page: CasePage) -> dict[str, Any]:
    """The case as the console's JSON API answers it: the page's facts, phones masked."""
    case, ctx = page.ctx.case, page.ctx

    def iso(dt: datetime | None) -> str | None:
        return dt.isoformat() if dt else None

    return {
        "number": case.number,
        "title": case.title,
        "status": case.status,
        "status_zh": presenters.status_zh(case.status),
        "category": {"code": case.category_code, "name": ctx.category_name, "confidence": case.category_confidence},
        "grid": {"code": case.grid_code, "name": ctx.grid_name},
        "department": {"code": case.department_code, "name": ctx.department_name},
        "grade": case.grade,
        "needs_review": case.needs_review,
        "dispatch_deadline": iso(case.dispatch_deadline),
        "handle_deadline": iso(case.handle_deadline),
        "created_at": iso(case.created_at),
        "reports": [
            {
                "id": item.report.id,
                "channel": item.report.channel,
                "received_at": iso(item.report.received_at),
                "phone": item.phone_masked,
                "text": item.report.text,
                "address": item.report.address,
                "lat": item.report.lat,
                "lon": item.report.lon,
                "photos": item.media.photos,
            }
            for item in page.reports
        ],
        "timeline": [
            {"at": iso(line.at), "who": line.who, "text": line.text, "details": line.details, "internal": line.internal}
            for line in page.timeline
        ],
        "top_categories": [{"code": g.code, "name": g.name, "confidence": g.confidence} for g in ctx.top.guesses],
        "duplicate_proposal": _proposal_json(ctx),
        "decision": _decision_json(page.decision),
    }


def _decision_json(e: Explanation | None) -> dict[str, Any] | None:
    if e is None:
        return None
    return {
        "sentence": e.sentence,
        "kind": e.kind,
        "held": e.held,
        "at": e.at.isoformat(),
        "inputs": {r.label: r.value for r in e.inputs},
        "outcome": {r.label: r.value for r in e.outcome},
        "skipped": [{"position": s.position, "name": s.name, "reason": s.reason} for s in e.skipped],
        "shadow": [{"key": s.key, "position": s.position, "would": s.would} for s in e.shadow],
    }


def _proposal_json(ctx: CaseContext) -> dict[str, Any] | None:
    p = ctx.proposal
    if p is None:
        return None
    return {
        "number": p.case.number,
        "status": p.case.status,
        "same_grid": p.same_grid,
        "distance_m": p.distance_m,
        "similarity": p.similarity,
        "target_open": p.target_open,
    }
