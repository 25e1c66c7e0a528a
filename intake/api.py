"""JSON API of the intake core: post a report, read a report, read a case with its timeline.

Every operation needs an API key (`Authorization: Bearer KEY`, `hotline apikeys create NAME --scope ...`)
with the operation's scope. The API is an outside caller, so it writes only its own namespace: channel
`api`, and external ids prefixed by the key's id (`k7:order-123`), so one caller can neither pre-empt
another caller's ids nor an adapter's (a camera incident, a Twilio MessageSid). Routing hints need the
`routing` scope and are checked against the database; `received_at` is the server's clock.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response, Security
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import ValidationError
from sqlmodel import Session, col, select
from starlette.concurrency import run_in_threadpool

from cases.db import session_scope
from cases.lifecycle import TERMINAL
from cases.logcontext import bind_ids
from cases.models import Case, Category, Grid, Report
from cases.phone import InvalidPhone
from cases.sanitize import DB_INT_MAX
from cases.service import get_case_by_number
from cases.states import Channel
from intake.apikeys import cached_key, check_key, check_key_cached, has_scope
from intake.core import Stored, accept_grouped
from intake.deps import DbSession
from intake.models import ApiKey, Attachment
from intake.problems import problem, problem_responses
from intake.ratelimit import MemoryLimiter, get_limiter
from intake.schemas import ApiHintsIn, ApiReportIn, ReportAccepted, ReportIn
from intake.settings import intake_settings
from intake.urls import base_url
from intake.views import case_view, report_view

router = APIRouter(prefix="/api/v1", tags=["intake"])
bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ApiKey",
    description="An API key from `hotline apikeys create NAME --scope ...`, sent as `Authorization: Bearer KEY`.",
)
RATE_WINDOW_SECONDS = 60
TERMINAL_STATUSES = {s.value for s in TERMINAL}


class ApiProblem(Exception):
    """Raised by a dependency to answer with a problem document before the endpoint runs (hotline.app
    registers `problem_response` for it)."""

    def __init__(self, response: JSONResponse) -> None:
        super().__init__(response.status_code)
        self.response = response


def problem_response(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiProblem)
    return exc.response


Credentials = Annotated[HTTPAuthorizationCredentials | None, Security(bearer)]


def _key_with_scope(session: Session, credentials: str | None, scope: str) -> ApiKey | JSONResponse:
    """The caller's active key, which must carry `scope`; else the 401 (no or bad key) or 403 answer."""
    key = _scoped(check_key(session, credentials) if credentials else None, scope)
    if isinstance(key, ApiKey) and session.dirty:  # last_used_at moved (at most once a minute)
        # Committed now: the key's use counts also when the request is then refused or fails.
        session.commit()
    return key


def _scoped(key: ApiKey | None, scope: str) -> ApiKey | JSONResponse:
    if key is None:
        unauthorized = problem(
            401, "需要有效的 API 密钥", "send Authorization: Bearer KEY; keys come from `hotline apikeys create`"
        )
        unauthorized.headers["WWW-Authenticate"] = 'Bearer realm="hotline"'
        return unauthorized
    if not has_scope(key, scope):
        return problem(403, "该 API 密钥无此权限", f"this operation needs the {scope!r} scope")
    return key


def require(scope: str) -> Callable[..., ApiKey]:
    """Dependency: the caller's active key, which must carry `scope`; else 401 (no or bad key) or 403."""

    def dependency(credentials: Credentials, session: DbSession) -> ApiKey:
        key = _key_with_scope(session, credentials.credentials if credentials else None, scope)
        if isinstance(key, JSONResponse):
            raise ApiProblem(key)
        return key

    return dependency


def _over_rate(key: ApiKey) -> JSONResponse | None:
    limit = intake_settings().api_intake_per_minute
    # By hash, not id: ids restart in every database, and databases may share one Redis.
    if get_limiter().hit(f"api:intake:{key.key_hash[:24]}", limit, RATE_WINDOW_SECONDS):
        return None
    retry = RATE_WINDOW_SECONDS - int(time.time()) % RATE_WINDOW_SECONDS
    r = problem(429, "提交太频繁，请稍后再试", f"at most {limit} reports per minute per API key")
    r.headers["Retry-After"] = str(max(retry, 1))
    return r


def _hint_errors(session: Session, hints: ApiHintsIn) -> str | None:
    """Why these hints cannot be used (the category, case or grid they name), or None."""
    if (
        hints.category_code is not None
        and session.exec(
            select(Category).where(Category.kind == "事件", Category.code == hints.category_code, col(Category.active))
        ).first()
        is None
    ):
        return f"category_code {hints.category_code} does not exist"
    if hints.link_case_id is not None:
        case = session.get(Case, hints.link_case_id)
        if case is None or case.status in TERMINAL_STATUSES:
            return f"link_case_id {hints.link_case_id} is not an open case"
    if hints.camera_grid_code is not None and session.get(Grid, hints.camera_grid_code) is None:
        return f"camera_grid_code {hints.camera_grid_code} does not exist"
    return None


def _refusal(session: Session, body: ApiReportIn, key: ApiKey) -> JSONResponse | None:
    """The first reason this body is refused (namespace, hints, emptiness, attachments), or None."""
    if body.channel not in (None, Channel.API):
        return problem(
            403,
            "该渠道只能由其接入端写入",
            f"channel {str(body.channel)!r} belongs to its adapter; the API writes channel 'api' only",
        )
    hints = body.hints.model_dump(exclude_none=True) if body.hints else {}
    if hints and not has_scope(key, "routing"):
        return problem(403, "该 API 密钥无权提供分派线索", "hints need a key with the 'routing' scope")
    if body.hints and (why := _hint_errors(session, body.hints)):
        return problem(422, "分派线索无效", why)
    if body.is_empty():
        return problem(
            422,
            "上报内容为空：请至少提供文字、位置或附件",
            "a report needs text, a location (address or lat+lon) or an attachment",
        )
    ids = [a for a in body.attachments if a.startswith("att_")]
    if ids and len(session.exec(select(Attachment.id).where(col(Attachment.id).in_(ids))).all()) < len(set(ids)):
        return problem(422, "附件不存在", "an attachment id does not name a stored attachment")
    return None


@router.post(
    "/reports",
    status_code=202,
    response_model=ReportAccepted,
    responses={
        200: {"description": "Duplicate: the report this key's external_id already made"},
        **problem_responses(400, 401, 403, 413, 422, 429),
    },
)
async def post_report(body: ApiReportIn, request: Request, credentials: Credentials) -> Any:
    """Store a report and queue it for classification and routing. Answers once it is committed.

    403 also when `channel` is another adapter's or `hints` are sent without the `routing` scope."""
    # One hop to the threadpool for the checks (key, limit, hints), then the report goes to the group
    # committer and this request waits for its commit without holding a thread. As a sync endpoint with its
    # session, key and commit as sync dependencies it took four hops and a commit of its own, and under 64
    # connections on two cores those cost more than the database did (docs/benchmarks.md, "Intake").
    secret = credentials.credentials if credentials else None
    if _no_io_checks(body, secret):  # the embedded default's usual case: nothing to wait for, so no hop
        checked = _checked_report(body, secret)
    else:
        checked = await run_in_threadpool(_checked_report, body, secret)
    if isinstance(checked, Response):
        return checked
    stored = await asyncio.wrap_future(checked)
    bind_ids(report_id=stored.report_id)
    case_number = await run_in_threadpool(_case_number, stored.case_id) if stored.case_id else None
    return JSONResponse(
        ReportAccepted(
            report_id=stored.report_id,
            # Not request.url_for: it walks every route of the app, a tenth of this endpoint's CPU.
            status_url=f"{base_url(request)}{router.prefix}/reports/{stored.report_id}",
            duplicate=not stored.created,
            case_number=case_number,
        ).model_dump(mode="json"),
        status_code=202 if stored.created else 200,
    )


def _no_io_checks(body: ApiReportIn, secret: str | None) -> bool:
    """The checks of this request read nothing: the key is in this process's cache, the rate counter is
    in memory (no Redis) and the body needs no database check."""
    return cached_key(secret) is not None and isinstance(get_limiter(), MemoryLimiter) and not _needs_database(body)


def _needs_database(body: ApiReportIn) -> bool:
    return bool(body.hints or body.attachments or body.channel not in (None, Channel.API) or body.is_empty())


def _checked_report(body: ApiReportIn, credentials: str | None) -> Response | Future[Stored]:
    """The refusal of this request, or its report handed to the group committer (whose future resolves once
    the report is committed). The key's last use is committed here, before the report."""
    key = _scoped(check_key_cached(credentials), "intake")
    if isinstance(key, Response):
        return key
    if (over := _over_rate(key)) is not None:
        return over
    if _needs_database(body):
        with session_scope() as session:  # only these checks read the database
            if (refused := _refusal(session, body, key)) is not None:
                return refused
    key_id = key.id
    raw = dict(body.raw)
    if body.reported_at is not None:
        raw["reported_at"] = body.reported_at.isoformat()
    try:
        report_in = ReportIn(
            channel=Channel.API,
            external_id=f"k{key_id}:{body.external_id}" if body.external_id else None,
            text=body.text,
            phone=body.phone,
            location=body.location,
            attachments=body.attachments,
            raw=raw,
            hints=body.hints.model_dump(exclude_none=True) if body.hints else {},
        )
        return accept_grouped(report_in)
    except ValidationError as exc:
        return problem(
            422,
            "请求参数无效",
            "the report does not validate",
            errors=[{"loc": [str(p) for p in e["loc"]], "msg": e["msg"]} for e in exc.errors()],
        )
    except InvalidPhone:
        return problem(422, "电话号码格式不正确", "phone is not a usable phone number")


def _case_number(case_id: int) -> str | None:
    with session_scope() as session:
        case = session.get(Case, case_id)
        return case.number if case else None


@router.get("/reports/{report_id}", name="get_report", responses=problem_responses(401, 403, 404, 422))
def get_report(
    request: Request,
    report_id: Annotated[int, Path(ge=1, le=DB_INT_MAX)],
    session: DbSession,
    key: Annotated[ApiKey, Depends(require("read"))],
) -> Any:
    report = session.get(Report, report_id)
    if report is None:
        return problem(404, "未找到该上报", f"report {report_id} does not exist")
    case = session.get(Case, report.case_id) if report.case_id else None
    return JSONResponse(report_view(report, case.number if case else None, base_url(request)))


@router.get("/cases/{number}", name="get_case", responses=problem_responses(401, 403, 404, 422))
def get_case(number: str, session: DbSession, key: Annotated[ApiKey, Depends(require("read"))]) -> Any:
    case = get_case_by_number(session, number)
    if case is None:
        return problem(404, "未找到该案件", "no case has this number")
    return JSONResponse(case_view(session, case))
