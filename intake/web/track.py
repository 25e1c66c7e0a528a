"""Track page: a resident follows their own case and rates it once it is handled (满意 / 基本满意 / 不满意;
不满意 reopens it where the lifecycle allows, cases.rating).

Proof of being the reporter is either the link we gave them (/h5/t/TOKEN: texted with the case number,
shown after the web form; intake.tracking) or the case number with the full phone number they reported
from. Case numbers are sequential and phone digits are no secret, so neither alone opens anything. A wrong
attempt gets the same answer whether the case exists or not; lookups are limited per IP and per case.
A successful number+phone lookup hands the page a fresh token, so rating needs no phone in the form.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from cases.models import Case, Report
from cases.phone import InvalidPhone, normalize_phone
from cases.queries import plain_steps, reporters_report, status_label
from cases.rating import RATINGS, already_rated, can_rate, record_rating
from cases.reference import reference_names
from cases.sanitize import clean_text
from cases.service import get_case_by_number
from intake.deps import DbSession
from intake.ratelimit import get_limiter
from intake.tracking import TOKEN_SHAPE, issue_token, report_for_token
from intake.web import csrf
from intake.web.form import client_ip
from intake.web.settings import web_form_settings
from intake.web.templating import templates

router = APIRouter(prefix="/h5", include_in_schema=False)

ACTOR = "resident:web"
LOOKUPS_PER_10_MIN = 30
NOT_FOUND = "没有找到匹配的案件，请核对案件编号和报案时留的电话号码"
NOTICES = {
    "reopened": "已收到您的评价，案件已重新办理，我们会尽快处理",
    "noted_for_verifier": "已收到您的评价，核实人员会在核实时重点查看",
    "surveyed": "谢谢您的评价！",
    "noted": "谢谢您的评价！",
}


def _page(request: Request, ctx: dict[str, Any], status: int = 200) -> HTMLResponse:
    probe = Response()
    ctx["csrf_token"] = csrf.issue(request, probe)
    response = templates.TemplateResponse(request, "track.html", ctx, status_code=status)
    if "set-cookie" in probe.headers:
        response.headers.append("set-cookie", probe.headers["set-cookie"])
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"  # the token is in the URL
    return response


def _not_found(request: Request, values: dict[str, str]) -> HTMLResponse:
    return _page(request, {"values": {"number": values.get("number", "")}, "error": NOT_FOUND}, 404)


def _result_ctx(session: Session, case: Case, token: str, report_id: int | None) -> dict[str, Any]:
    """The page for the reporter of `report_id` (whose rating is theirs: 一事多诉 has several)."""
    return {
        "case": case,
        "status_label": status_label(case),
        "category": reference_names().category(case.category_code),
        "steps": plain_steps(session, case),
        "can_rate": can_rate(session, case, report_id),
        "rated": already_rated(session, case, report_id),
        "token": token,
        "ratings": RATINGS,
    }


def _ip_allowed(request: Request) -> bool:
    return get_limiter().hit(f"track:ip:{client_ip(request)}", LOOKUPS_PER_10_MIN, 600)


def _by_number_and_phone(session: Session, number: str, phone: str) -> Report | None:
    """The reporter's own report on this case, when the phone is the one they reported from."""
    try:
        e164 = normalize_phone(phone)
    except InvalidPhone:
        return None
    case = get_case_by_number(session, number)
    if case is None or e164 is None:
        return None
    return reporters_report(session, case, e164)


@router.get("/track", response_class=HTMLResponse)
def track_form(request: Request, number: str = "") -> HTMLResponse:
    return _page(request, {"values": {"number": number[:40]}})


@router.get("/t/{token}", response_class=HTMLResponse)
def track_link(request: Request, session: DbSession, token: str) -> HTMLResponse:
    """The link texted to the reporter (or shown after the web form)."""
    if not _ip_allowed(request):
        return _page(request, {"values": {}, "error": "查询太频繁了，请稍后再试"}, 429)
    report = report_for_token(session, token)
    case = session.get(Case, report.case_id) if report and report.case_id else None
    if report is None or case is None:
        return _not_found(request, {})
    return _page(request, _result_ctx(session, case, token, report.id))


def _checked(request: Request, form: FormData) -> tuple[dict[str, str], tuple[str, int] | None]:
    fields = ("number", "phone", "t", "rating", "comment")
    values = {k: clean_text(str(form.get(k) or "")).strip()[:600] for k in fields}
    token = form.get(csrf.FIELD)
    if not csrf.valid(request, token if isinstance(token, str) else None):
        return values, ("页面已过期，请再查询一次", 400)
    if not _ip_allowed(request):
        return values, ("查询太频繁了，请稍后再试", 429)
    return values, None


@router.post("/track", response_class=HTMLResponse)
async def track(request: Request, session: DbSession) -> HTMLResponse:
    form = await request.form()
    return await run_in_threadpool(_track, request, form, session)  # the database blocks: not on the event loop


def _track(request: Request, form: FormData, s: Session) -> HTMLResponse:
    values, error = _checked(request, form)
    if error:
        return _page(request, {"values": values, "error": error[0]}, error[1])
    if not values["number"] or not values["phone"]:
        return _page(request, {"values": values, "error": "请填写案件编号和报案时留的电话号码"}, 422)
    # Per case, so guessing the missing digits of one resident's phone stays hopeless from many IPs too.
    per_case = web_form_settings().track_attempts_per_case_per_hour
    if not get_limiter().hit(f"track:case:{values['number'][:40]}", per_case, 3600):
        return _page(
            request, {"values": values, "error": "该案件查询次数过多，请一小时后再试，或使用短信中的链接"}, 429
        )
    report = _by_number_and_phone(s, values["number"], values["phone"])
    case = s.get(Case, report.case_id) if report and report.case_id else None
    if report is None or case is None or report.id is None:
        return _not_found(request, values)
    token = issue_token(s, report.id)
    return _page(request, _result_ctx(s, case, token, report.id))


@router.post("/track/rate", response_class=HTMLResponse)
async def rate(request: Request, session: DbSession) -> HTMLResponse:
    form = await request.form()
    return await run_in_threadpool(_rate, request, form, session)


def _rate(request: Request, form: FormData, s: Session) -> HTMLResponse:
    values, error = _checked(request, form)
    if error:
        return _page(request, {"values": values, "error": error[0]}, error[1])
    token = values["t"]
    if not TOKEN_SHAPE.match(token):
        return _not_found(request, values)
    report = report_for_token(s, token)
    case = s.get(Case, report.case_id) if report and report.case_id else None
    if report is None or case is None:
        return _not_found(request, values)
    ctx = _result_ctx(s, case, token, report.id)
    code = values["rating"]
    if not ctx["can_rate"]:
        ctx["error"] = "这个案件现在不能评价" if not ctx["rated"] else "您已经评价过了，谢谢"
        return _page(request, ctx, 409)
    if code not in RATINGS:
        ctx["error"] = "请选择 满意、基本满意 或 不满意"
        return _page(request, ctx, 422)
    outcome = record_rating(s, case, code, actor=ACTOR, channel="web", comment=values["comment"], report_id=report.id)
    ctx = _result_ctx(s, case, token, report.id)
    ctx["notice"] = NOTICES.get(outcome, "谢谢您的评价！")
    return _page(request, ctx)
