"""The resident's report form (H5): GET shows it, POST checks it and hands a ReportIn to the intake core.

Order of checks on POST, cheapest and most telling first: CSRF token → honeypot → the resident's own
input (with the values kept for a corrected resubmission) → rate limits → photos → store.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from cases.models import Case, Report
from cases.phone import InvalidPhone, normalize_phone
from cases.reference import reference_names
from cases.sanitize import clean_text
from cases.states import Channel
from intake.core import accept
from intake.deps import DbSession
from intake.ratelimit import get_limiter
from intake.schemas import LocationIn, ReportIn
from intake.settings import storage_settings
from intake.storage import AttachmentRejected, clean_image, save_image
from intake.tracking import TOKEN_SHAPE, issue_token
from intake.web import csrf
from intake.web.reference import Choice, common_categories, communities, community, is_category, search_categories
from intake.web.settings import web_form_settings
from intake.web.templating import templates

router = APIRouter(prefix="/h5", include_in_schema=False)

MAX_PHOTOS = 9
MAX_DESCRIPTION = 2000
HONEYPOT = "website"
TEXT_FIELDS = ("description", "category_code", "lat", "lon", "address", "community_code", "phone")


@dataclass
class FormError(Exception):
    status: int
    message: str
    values: dict[str, str] = field(default_factory=dict)


def client_ip(request: Request) -> str:
    # Behind a reverse proxy, run uvicorn with --proxy-headers so this is the resident's address.
    return request.client.host if request.client else "unknown"


def render_form(
    request: Request,
    s: Session,
    values: dict[str, str] | None = None,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    """The form page with a fresh CSRF token (the cookie is set on this response when missing)."""
    probe = Response()
    token = csrf.issue(request, probe)
    values = values or {}
    common = common_categories()
    streets = communities(s)
    chosen = values.get("category_code", "")
    # A category found by search is not among the chips: keep it visible (and checked) on errors.
    if chosen and all(c.code != chosen for c in common) and (name := reference_names().category(chosen)):
        common = [*common, Choice(chosen, name)]
    response = templates.TemplateResponse(
        request,
        "report.html",
        {
            "values": values,
            "error": error,
            "common": common,
            "streets": streets,
            "csrf_token": token,
            "max_photos": MAX_PHOTOS,
            "max_mb": storage_settings().attachment_max_bytes // (1024 * 1024),
        },
        status_code=status,
    )
    if "set-cookie" in probe.headers:
        response.headers.append("set-cookie", probe.headers["set-cookie"])
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/", response_class=HTMLResponse)
def form_page(request: Request, session: DbSession) -> HTMLResponse:
    return render_form(request, session)


@router.get("/categories", response_class=HTMLResponse)
def category_search(request: Request, session: DbSession, q: str = "") -> HTMLResponse:
    """Fragment: categories whose name contains `q`, as radio choices (the form's search box)."""
    found = search_categories(session, q[:20])
    return templates.TemplateResponse(request, "_categories.html", {"found": found, "q": q})


def _validate(s: Session, values: dict[str, str]) -> tuple[str | None, LocationIn | None, dict[str, Any]]:
    """The resident's input → (E.164 phone, location, hints). Raises FormError with a Chinese message."""
    description = values["description"]
    if not description:
        raise FormError(422, "请描述您要反映的问题", values)
    if len(description) > MAX_DESCRIPTION:
        raise FormError(422, f"问题描述请不要超过 {MAX_DESCRIPTION} 字", values)
    try:
        phone = normalize_phone(values["phone"] or None)
    except InvalidPhone:
        raise FormError(422, "电话号码格式不正确，请填写手机号或带区号的固定电话，也可以不填", values) from None
    hints: dict[str, Any] = {}
    lat = lon = None
    if values["lat"] and values["lon"]:
        try:
            lat, lon = float(values["lat"]), float(values["lon"])
        except ValueError:
            raise FormError(422, "定位信息无效，请重新定位或填写地址", values) from None
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise FormError(422, "定位信息无效，请重新定位或填写地址", values)
    address = values["address"][:300] or None
    if values["community_code"]:
        comm = community(s, values["community_code"])
        if comm is None:
            raise FormError(422, "请选择列表中的街道和社区", values)
        hints["community_code"] = comm.code
        # The classifier reads the address; the community's name is evidence too.
        address = f"{comm.street}{comm.name} {address or ''}".strip()
    if values["category_code"]:
        if not is_category(s, values["category_code"]):
            raise FormError(422, "请选择列表中的问题类型", values)
        hints["category_code"] = values["category_code"]
    if lat is None and not address:
        raise FormError(422, "请告诉我们问题的位置：点“获取当前位置”，填写地址，或选择街道社区", values)
    location = LocationIn(lat=lat, lon=lon, address=address)
    return phone, location, hints


def _check_limits(request: Request, phone: str | None, values: dict[str, str]) -> None:
    settings = web_form_settings()
    limiter = get_limiter()
    if not limiter.hit(f"web:ip:{client_ip(request)}", settings.web_rate_ip_per_hour, 3600):
        raise FormError(429, "提交太频繁了，请稍后再试。紧急情况请拨打 12319。", values)
    if phone and not limiter.hit(f"web:phone:{phone}", settings.web_rate_phone_per_day, 86400):
        raise FormError(429, "这个电话号码今天提交次数已达上限，请明天再试或拨打 12319。", values)


@router.post("/report", response_class=HTMLResponse)
async def submit(request: Request, session: DbSession) -> Response:
    # Parsing is async; checking, decoding photos and the database block, so they run on the thread pool.
    form = await request.form(max_files=50)
    return await run_in_threadpool(_submit, request, form, session)


def _submit(request: Request, form: FormData, s: Session) -> Response:
    # What a resident typed is kept without the characters no store can hold (cases.sanitize).
    values = {k: clean_text(str(form.get(k) or "")).strip() for k in TEXT_FIELDS}
    photos = [f for f in form.getlist("photos") if isinstance(f, UploadFile) and f.filename]
    try:
        token = form.get(csrf.FIELD)
        if not csrf.valid(request, token if isinstance(token, str) else None):
            raise FormError(400, "页面已过期，请检查内容后再提交一次", values)
        if str(form.get(HONEYPOT) or ""):
            raise FormError(400, "提交失败，请稍后再试", {})
        phone, location, hints = _validate(s, values)
        if len(photos) > MAX_PHOTOS:
            raise FormError(422, f"最多上传 {MAX_PHOTOS} 张照片", values)
        _check_limits(request, phone, values)
        cleaned = []
        for photo in photos:  # every photo checked before any is stored
            try:
                cleaned.append(clean_image(photo.file.read(storage_settings().attachment_max_bytes + 1)))
            except AttachmentRejected as exc:
                raise FormError(422, f"照片“{photo.filename}”：{exc.message}", values) from None
        ids = [save_image(s, img, channel=Channel.WEB).id for img in cleaned]
        result = accept(
            s,
            ReportIn(
                channel=Channel.WEB,
                text=values["description"],
                phone=phone,
                location=location,
                attachments=ids,
                hints=hints,
                raw={
                    "category_code": values["category_code"] or None,
                    "community_code": values["community_code"] or None,
                    "user_agent": request.headers.get("user-agent", "")[:300],
                },
            ),
        )
        assert result.report.id is not None
        report_id = result.report.id
        track_token = issue_token(s, report_id)  # the resident's proof for the track page
    except FormError as exc:
        msg = exc.message + ("（照片需要重新选择）" if photos and exc.values else "")
        return render_form(request, s, exc.values, msg, exc.status)
    return RedirectResponse(f"/h5/submitted/{csrf.sign_id(report_id)}?t={track_token}", status_code=303)


def _report_case(s: Session, token: str) -> tuple[Report | None, Case | None]:
    report_id = csrf.unsign_id(token)
    if report_id is None:
        return None, None
    report = s.get(Report, report_id)
    case = s.get(Case, report.case_id) if report and report.case_id else None
    return report, case


def _status_ctx(report: Report, case: Case | None, token: str, t: str) -> dict[str, Any]:
    # `t` is the track token the submit redirect carried; only its shape is checked here (a forged one
    # just makes a link that opens nothing).
    return {
        "report": report,
        "case": case,
        "token": token,
        "has_phone": bool(report.phone),
        "track_token": t if TOKEN_SHAPE.match(t) else None,
    }


@router.get("/submitted/{token}", response_class=HTMLResponse)
def submitted(request: Request, session: DbSession, token: str, t: str = "") -> HTMLResponse:
    report, case = _report_case(session, token)
    if report is None:
        return templates.TemplateResponse(
            request, "message.html", {"title": "未找到", "message": "没有找到这条反映。"}, status_code=404
        )
    response = templates.TemplateResponse(request, "submitted.html", _status_ctx(report, case, token, t))
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@router.get("/submitted/{token}/status", response_class=HTMLResponse)
def submitted_status(request: Request, session: DbSession, token: str, t: str = "") -> HTMLResponse:
    """Fragment polled by the submitted page until the pipeline has opened the case."""
    report, case = _report_case(session, token)
    if report is None:
        return HTMLResponse("", status_code=404)
    return templates.TemplateResponse(request, "_status.html", _status_ctx(report, case, token, t))
