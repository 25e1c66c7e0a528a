"""`/console/cases/{number}`: the case page (read side), its htmx partials that refresh after an
action (`case-changed`: header, tags, possible duplicates with intake's proposal, timeline), the audited
phone reveal, the voicemail recording, and the same case as JSON.

Every route reads through `case_view.case_page` with the reader's scope in the query: a case the user
may not read answers 404, like a number that does not exist. The actions panel is its own route
(`/console/cases/{number}/actions`), loaded into the page."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlmodel import Session

from agent_ui import presenters
from agent_ui.auth import CaseReader, Principal, reader
from agent_ui.templating import env, render
from agent_ui.workbench.case_media import recording_of
from agent_ui.workbench.case_view import CasePage, as_json, case_page
from cases.disclosure import reveal_phone
from intake.deps import DbSession
from intake.problems import problem
from intake.telephony.recordings import RecordingUnavailable, fetch_recording
from routing.case_context import readable_case

router = APIRouter(prefix="/console", include_in_schema=False)

# The page's own wording filters (pure functions of agent_ui.presenters).
env.filters["percent"] = presenters.percent
env.filters["sms_note"] = presenters.sms_note
env.filters["grade_zh"] = lambda grade: presenters.GRADES_ZH.get(grade, grade)
env.filters["grid_source"] = lambda source: presenters.GRID_SOURCES_ZH.get(source or "", source or "")

NOT_FOUND = "没有这个工单，或您无权查看"
TEMPLATE = "workbench/case.html"


def _page(db: Session, user: Principal, number: str) -> CasePage:
    page = case_page(db, reader(user), number)
    if page is None:
        raise HTTPException(404, NOT_FOUND)
    return page


@router.get("/cases/{number}", response_class=HTMLResponse)
def case(request: Request, number: str, db: DbSession, user: CaseReader) -> HTMLResponse:
    page = _page(db, user, number)
    return render(request, TEMPLATE, nav="queue", page=page, number=page.number)


def _part(request: Request, db: Session, user: Principal, number: str, block: str) -> HTMLResponse:
    page = _page(db, user, number)
    return render(request, TEMPLATE, block=block, page=page, number=page.number)


@router.get("/cases/{number}/timeline", response_class=HTMLResponse)
def timeline_part(request: Request, number: str, db: DbSession, user: CaseReader) -> HTMLResponse:
    return _part(request, db, user, number, "timeline")


@router.get("/cases/{number}/header", response_class=HTMLResponse)
def header_part(request: Request, number: str, db: DbSession, user: CaseReader) -> HTMLResponse:
    return _part(request, db, user, number, "header")


@router.get("/cases/{number}/duplicates", response_class=HTMLResponse)
def duplicates_part(request: Request, number: str, db: DbSession, user: CaseReader) -> HTMLResponse:
    return _part(request, db, user, number, "duplicates")


@router.get("/cases/{number}/tags", response_class=HTMLResponse)
def tags_part(request: Request, number: str, db: DbSession, user: CaseReader) -> HTMLResponse:
    return _part(request, db, user, number, "tags")


@router.post("/cases/{number}/reports/{report_id}/phone", response_class=HTMLResponse)
def phone(request: Request, number: str, report_id: int, db: DbSession, user: CaseReader) -> HTMLResponse:
    """The full number, on an explicit click, written to the case's audit trail first (the event names
    the user and the report, never the number)."""
    found = readable_case(db, reader(user), number)
    full = reveal_phone(db, found, report_id, user.actor) if found is not None else None
    if full is None:
        raise HTTPException(404, "没有这条反映的电话号码")
    return render(request, "workbench/_phone.html", phone=full, headers={"HX-Trigger": "case-timeline-changed"})


@router.get("/cases/{number}/reports/{report_id}/recording")
def recording(number: str, report_id: int, db: DbSession, user: CaseReader) -> Response:
    found = readable_case(db, reader(user), number)
    url = recording_of(db, found, report_id) if found is not None else None
    if url is None:
        raise HTTPException(404, "没有这条录音")
    try:
        data, ctype = fetch_recording(url)
    except RecordingUnavailable:
        raise HTTPException(502, "录音暂时无法获取，请稍后再试") from None
    return Response(
        data, media_type=ctype, headers={"Cache-Control": "private, no-store", "Content-Disposition": "inline"}
    )


@router.get("/api/cases/{number}")
def case_json(number: str, db: DbSession, user: CaseReader) -> JSONResponse:
    page = case_page(db, reader(user), number)
    if page is None:
        return problem(404, "未找到", NOT_FOUND)
    return JSONResponse(as_json(page))
