"""JSON API of the intake core: post a report, read a report, read a case with its timeline."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response
from fastapi.responses import JSONResponse
from sqlmodel import Session

from cases.db import session_scope
from cases.models import Case, Report
from cases.phone import InvalidPhone
from cases.sanitize import DB_INT_MAX
from cases.service import get_case_by_number
from cases.settings import get_settings
from intake.core import accept
from intake.problems import problem, problem_responses
from intake.schemas import ReportAccepted, ReportIn
from intake.views import case_view, report_view

router = APIRouter(prefix="/api/v1", tags=["intake"])


def db_session() -> Any:
    with session_scope() as s:
        yield s


DB = Annotated[Session, Depends(db_session)]


@router.post(
    "/reports",
    status_code=202,
    response_model=ReportAccepted,
    responses={200: {"description": "Duplicate: the report this (channel, external_id) already made"},
               **problem_responses(400, 401, 403, 413, 422, 429)},
)
def post_report(body: ReportIn, session: DB, request: Request, response: Response) -> Any:
    """Store a report and queue it for classification and routing. Answers once it is committed."""
    try:
        result = accept(session, body)
    except InvalidPhone as exc:
        return problem(422, "电话号码格式不正确", str(exc))
    report = result.report
    assert report.id is not None
    case = session.get(Case, report.case_id) if report.case_id else None
    response.status_code = 202 if result.created else 200
    return ReportAccepted(
        report_id=report.id,
        status_url=str(request.url_for("get_report", report_id=report.id)),
        duplicate=not result.created,
        case_number=case.number if case else None,
    )


@router.get("/reports/{report_id}", name="get_report", responses=problem_responses(401, 403, 404, 422))
def get_report(report_id: Annotated[int, Path(ge=1, le=DB_INT_MAX)], session: DB) -> Any:
    report = session.get(Report, report_id)
    if report is None:
        return problem(404, "未找到该上报", f"report {report_id} does not exist")
    case = session.get(Case, report.case_id) if report.case_id else None
    return JSONResponse(report_view(report, case.number if case else None, get_settings().public_base_url))


@router.get("/cases/{number}", name="get_case", responses=problem_responses(401, 403, 404, 422))
def get_case(number: str, session: DB) -> Any:
    case = get_case_by_number(session, number)
    if case is None:
        return problem(404, "未找到该案件", f"case {number} does not exist")
    return JSONResponse(case_view(session, case))
