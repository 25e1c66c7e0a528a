"""Open311 GeoReport v2 endpoints under /open311/v2/ (https://wiki.open311.org/GeoReport_v2/).

Reading is open; creating a request needs an api_key with the open311 scope (`hotline apikeys create
NAME`). A POSTed request is stored through the intake core like any other report; its `service_request_id`
is our case number, known at once when the pipeline runs inline and otherwise reachable through the returned token.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlmodel import Session, col, select
from starlette.concurrency import run_in_threadpool

from cases.models import Case, Report
from cases.phone import InvalidPhone
from cases.sanitize import clean_text, has_unsafe
from cases.states import Channel
from intake.apikeys import check_key, has_scope
from intake.core import accept
from intake.deps import DbSession
from intake.open311.mapping import CLOSED, request_row, service, service_row, services
from intake.open311.render import FORMATS, error, render, render_one
from intake.schemas import LocationIn, ReportIn
from intake.settings import intake_settings
from intake.urls import base_url

_OPEN311_ERROR = {
    "type": "array",
    "items": {"type": "object", "properties": {"code": {"type": "integer"}, "description": {"type": "string"}}},
}


def _errors(description: str) -> dict[str, Any]:
    return {
        "description": f"{description} (GeoReport v2 error list, JSON or XML by the format asked)",
        "content": {"application/json": {"schema": _OPEN311_ERROR}, "text/xml": {}},
    }


router = APIRouter(
    prefix="/open311/v2",
    tags=["open311"],
    responses={
        400: _errors("Unknown format, bad parameter, control characters, dates out of range or page_size < 1"),
        404: _errors("Unknown jurisdiction_id, service_code, service_request_id or token"),
    },
)

MAX_RANGE = timedelta(days=90)
MAX_RESULTS = 1000
# Dates outside these bounds are no query anyone means; inside them `start ± MAX_RANGE` cannot
# overflow Python's datetime (year 1..9999) nor reach dates the database cannot compare.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
# What a resident or a client app typed: stored without unstorable characters (cases.sanitize).
# Every other field is an identifier or a number and is refused when it holds one.
FREE_TEXT = ("description", "address_string", "first_name", "last_name")
# Every field is bounded before anything is stored (the contact fields land in the report's raw data).
MAX_FIELD = {"description": 4000, "phone": 40, "media_url": 1000}
MAX_FIELD_DEFAULT = 300


# A Literal, so the schema lists the two formats (an unknown one is a 400 in the JSON error format).
Format = Literal["json", "xml"]


def _fmt(fmt: str) -> str | None:
    return fmt if fmt in FORMATS else None


def _params(request: Request, form: Any = None) -> dict[str, str]:
    out = {k: v for k, v in request.query_params.items()}
    if form is not None:
        out.update({k: v for k, v in form.items() if isinstance(v, str)})
    return {k: clean_text(v) if k in FREE_TEXT else v for k, v in out.items()}


def _unsafe_error(fmt: str, params: dict[str, str]) -> Response | None:
    bad = sorted(k for k, v in params.items() if has_unsafe(k) or has_unsafe(v))
    if bad:
        return error(fmt, 400, f"{', '.join(repr(clean_text(k)) for k in bad)} must not contain control characters")
    return None


def _jurisdiction_error(fmt: str, params: dict[str, str]) -> Response | None:
    j = params.get("jurisdiction_id")
    if j and j != intake_settings().open311_jurisdiction_id:
        return error(fmt, 404, f"jurisdiction_id {j!r} not found")
    return None


@router.get("/discovery.{fmt}")
def discovery(request: Request, fmt: Format) -> Response:
    """Service discovery: where this endpoint is and what it speaks."""
    if not _fmt(fmt):
        return error("json", 400, "format must be json or xml")
    base = base_url(request)
    return render_one(
        fmt,
        "discovery",
        {
            "changeset": "2026-11-25T00:00:00Z",
            "contact": "12319 城市管理热线",
            "key_service": "API keys are issued by the city (hotline apikeys create NAME).",
            "endpoints": [
                {
                    "specification": "http://wiki.open311.org/GeoReport_v2",
                    "url": f"{base}/open311/v2",
                    "changeset": "2026-11-25T00:00:00Z",
                    "type": "production",
                    "formats": ["application/json", "text/xml"],
                }
            ],
        },
    )


@router.get("/services.{fmt}")
def list_services(request: Request, fmt: Format, session: DbSession) -> Response:
    if not _fmt(fmt):
        return error("json", 400, "format must be json or xml")
    if (bad := _jurisdiction_error(fmt, _params(request))) is not None:
        return bad
    rows = [service_row(c) for c in services(session)]
    return render(fmt, "services", "service", rows)


@router.get("/services/{code}.{fmt}")
def service_definition(request: Request, code: str, fmt: Format, session: DbSession) -> Response:
    if not _fmt(fmt):
        return error("json", 400, "format must be json or xml")
    if (bad := _jurisdiction_error(fmt, _params(request))) is not None:
        return bad
    cat = service(session, code)
    if cat is None:
        return error(fmt, 404, f"service_code {code} not found")
    return render_one(fmt, "service_definition", {"service_code": cat.code, "attributes": []})


def _location(p: dict[str, str]) -> LocationIn:
    lat, lon = p.get("lat", "").strip(), p.get("long", "").strip()
    address = (p.get("address_string") or "").strip() or None
    address_id = (p.get("address_id") or "").strip()
    if bool(lat) != bool(lon):
        raise ValueError("lat and long must be given together")
    if not (lat or address or address_id):
        raise ValueError("a location is required: lat & long, address_string or address_id")
    try:
        return LocationIn(
            lat=float(lat) if lat else None, lon=float(lon) if lon else None, address=(address or address_id or None)
        )
    except ValueError:
        raise ValueError("lat/long must be numbers in range") from None


_FORM_FIELDS = [
    "api_key",
    "jurisdiction_id",
    "service_code",
    "lat",
    "long",
    "address_string",
    "address_id",
    "email",
    "device_id",
    "account_id",
    "first_name",
    "last_name",
    "phone",
    "description",
    "media_url",
]


@router.post(
    "/requests.{fmt}",
    status_code=201,
    responses={403: _errors("api_key missing, unknown or revoked"), 429: _errors("Rate limited")},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": {
                        "type": "object",
                        "required": ["api_key", "service_code"],
                        "properties": {name: {"type": "string"} for name in _FORM_FIELDS},
                    }
                }
            },
        }
    },
)
async def create_request(request: Request, fmt: Format, session: DbSession) -> Response:
    if not _fmt(fmt):
        return error("json", 400, "format must be json or xml")
    p = _params(request, await request.form())
    return await run_in_threadpool(_create, fmt, p, session)  # the database blocks: not on the event loop


def _create(fmt: str, p: dict[str, str], session: Session) -> Response:
    if (bad := _unsafe_error(fmt, p)) is not None:
        return bad
    if (bad := _jurisdiction_error(fmt, p)) is not None:
        return bad
    too_long = sorted(k[:40] for k, v in p.items() if len(v) > MAX_FIELD.get(k, MAX_FIELD_DEFAULT))
    if too_long:
        return error(
            fmt,
            400,
            f"too long: {', '.join(too_long)} (description 4000, phone 40, others {MAX_FIELD_DEFAULT} characters)",
        )
    code = (p.get("service_code") or "").strip()
    if not code:
        return error(fmt, 400, "service_code is required")
    key = check_key(session, p.get("api_key"))
    if key is None:
        return error(fmt, 403, "api_key is missing, unknown or revoked")
    if not has_scope(key, "open311"):
        return error(fmt, 403, "api_key lacks the open311 scope")
    if service(session, code) is None:
        return error(fmt, 404, f"service_code {code} not found")
    try:
        location = _location(p)
    except ValueError as exc:
        return error(fmt, 400, str(exc))
    description = (p.get("description") or "").strip()
    media = (p.get("media_url") or "").strip()
    if media and not media.startswith(("http://", "https://")):
        return error(fmt, 400, "media_url must be an http(s) URL")
    token = uuid.uuid4().hex
    contact = {k: p[k] for k in ("first_name", "last_name", "email", "device_id", "account_id") if p.get(k)}
    key_name = key.name
    hints: dict[str, Any] = {"category_code": code}
    try:
        result = accept(
            session,
            ReportIn(
                channel=Channel.OPEN311,
                external_id=f"token-{token}",
                text=description,
                phone=p.get("phone") or None,
                location=location,
                attachments=[media] if media else [],
                raw={
                    "service_code": code,
                    "api_key_name": key_name,
                    "contact": contact,
                    "address_id": p.get("address_id"),
                },
                hints=hints,
            ),
        )
    except InvalidPhone:
        return error(fmt, 400, "phone is not a valid phone number")
    # Committed before the answer is made: it carries the case number when the queue opened the case
    # at commit (a synchronous queue does).
    session.commit()
    session.refresh(result.report)
    case = session.get(Case, result.report.case_id) if result.report.case_id else None
    row: dict[str, Any] = {"service_notice": "12319 城市管理热线已受理", "account_id": None}
    if case is not None:
        row = {"service_request_id": case.number, "token": token, **row}
    else:
        row = {"token": token, **row}
    return render(fmt, "service_requests", "request", [row], status=201)


def _parse_dt(value: str | None, name: str) -> datetime | None:
    if not value:
        return None
    try:
        dt = datetime.fromisoformat(value.strip().replace(" ", "+"))
    except ValueError:
        raise ValueError(f"{name} must be a W3C datetime such as 2026-01-01T00:00:00Z") from None
    # The year first: converting 0001-01-01T00:00+14:00 to UTC would itself overflow.
    if not EARLIEST.year <= dt.year <= LATEST.year - 1:
        raise ValueError(f"{name} must be between {EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d}")
    # A time without offset is UTC (the spec's times carry one); compared in UTC on every backend.
    return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).astimezone(UTC)


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


# Read from the query string by hand (the spec's names and comma lists), so declared here for clients
# and for the schemathesis check.
_LIST_PARAMS = [
    _query("service_request_id", {"type": "string"}, "Comma-separated ids; overrides every other filter"),
    _query("service_code", {"type": "string"}, "Comma-separated service codes"),
    _query("start_date", {"type": "string", "format": "date-time"}, "W3C datetime, 2000-01-01..2100-01-01"),
    _query("end_date", {"type": "string", "format": "date-time"}, "At most 90 days after start_date"),
    _query("status", {"type": "string", "enum": ["open", "closed", "open,closed"]}, "open, closed or both"),
    _query("page_size", {"type": "integer", "minimum": 1}, f"1.. (at most {MAX_RESULTS} rows are returned)"),
    _query("jurisdiction_id", {"type": "string"}, "This city's jurisdiction id, if given"),
]


@router.get("/requests.{fmt}", openapi_extra={"parameters": _LIST_PARAMS})
def list_requests(request: Request, fmt: Format, session: DbSession) -> Response:
    if not _fmt(fmt):
        return error("json", 400, "format must be json or xml")
    p = _params(request)
    if (bad := _unsafe_error(fmt, p)) is not None:
        return bad
    if (bad := _jurisdiction_error(fmt, p)) is not None:
        return bad
    stmt = select(Case)
    ids = [i.strip() for i in (p.get("service_request_id") or "").split(",") if i.strip()]
    if ids:  # the spec: service_request_id overrides every other filter
        stmt = stmt.where(col(Case.number).in_(ids[:MAX_RESULTS]))
    else:
        try:
            start, end = _parse_dt(p.get("start_date"), "start_date"), _parse_dt(p.get("end_date"), "end_date")
        except ValueError as exc:
            return error(fmt, 400, str(exc))
        now = datetime.now(UTC)
        end = end or ((start + MAX_RANGE) if start else now)
        start = start or (end - MAX_RANGE)
        if end < start or end - start > MAX_RANGE:
            return error(fmt, 400, "start_date..end_date must be in order and span at most 90 days")
        stmt = stmt.where(col(Case.created_at) >= start, col(Case.created_at) <= end)
        codes = [c.strip() for c in (p.get("service_code") or "").split(",") if c.strip()]
        if codes:
            stmt = stmt.where(col(Case.category_code).in_(codes))
        statuses = {x.strip() for x in (p.get("status") or "").split(",") if x.strip()}
        if statuses - {"open", "closed"}:
            return error(fmt, 400, "status must be open, closed or both")
        if statuses == {"open"}:
            stmt = stmt.where(col(Case.status).not_in(CLOSED))
        elif statuses == {"closed"}:
            stmt = stmt.where(col(Case.status).in_(CLOSED))
    page_size = (p.get("page_size") or "").strip() or str(MAX_RESULTS)
    # ASCII digits only: int() also takes '١٢', '-1' and '1_000', and raises on 5000 digits.
    if not (page_size.isascii() and page_size.isdigit()) or int(page_size[:9]) < 1:
        return error(fmt, 400, f"page_size must be a whole number from 1 to {MAX_RESULTS}")
    limit = min(int(page_size[:9]) if len(page_size) <= 9 else MAX_RESULTS, MAX_RESULTS)
    cases = session.exec(stmt.order_by(col(Case.created_at).desc()).limit(limit)).all()
    rows = [request_row(session, c, base_url(request)) for c in cases]
    return render(fmt, "service_requests", "request", rows)


@router.get("/requests/{request_id}.{fmt}")
def get_request(request: Request, request_id: str, fmt: Format, session: DbSession) -> Response:
    if not _fmt(fmt):
        return error("json", 400, "format must be json or xml")
    if (bad := _jurisdiction_error(fmt, _params(request))) is not None:
        return bad
    case = session.exec(select(Case).where(Case.number == request_id)).first()
    if case is None:
        return error(fmt, 404, f"service_request_id {request_id} not found")
    row = request_row(session, case, base_url(request))
    return render(fmt, "service_requests", "request", [row])


@router.get("/tokens/{token}.{fmt}")
def get_token(request: Request, token: str, fmt: Format, session: DbSession) -> Response:
    if not _fmt(fmt):
        return error("json", 400, "format must be json or xml")
    report = session.exec(
        select(Report).where(Report.channel == Channel.OPEN311, Report.external_id == f"token-{token}")
    ).first()
    if report is None:
        return error(fmt, 404, f"token {token} not found")
    case = session.get(Case, report.case_id) if report.case_id else None
    # Until the pipeline has opened the case, the spec's answer is the token without an id.
    return render(
        fmt, "service_requests", "request", [{"service_request_id": case.number if case else None, "token": token}]
    )
