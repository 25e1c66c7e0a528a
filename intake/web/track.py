"""Track page: case number + last four digits of the phone → the timeline in plain words, and a rating
(满意 / 基本满意 / 不满意) once the case is handled; 不满意 reopens it where the lifecycle allows."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session, col, select
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from cases.db import session_scope
from cases.lifecycle import Action, CaseStatus
from cases.models import Case, Report
from cases.sanitize import clean_text
from cases.service import apply_action, get_case_by_number, timeline
from intake.ratelimit import get_limiter
from intake.web import csrf
from intake.web.form import client_ip
from intake.web.plain import plain_steps, status_label
from intake.web.reference import category_name
from intake.web.templating import templates

router = APIRouter(prefix="/h5", include_in_schema=False)

RATINGS = {"satisfied": "满意", "basic": "基本满意", "unsatisfied": "不满意"}
RATEABLE = {CaseStatus.HANDLED, CaseStatus.VERIFIED, CaseStatus.SURVEYED, CaseStatus.CLOSED}
REOPENABLE = {CaseStatus.VERIFIED, CaseStatus.SURVEYED, CaseStatus.CLOSED}
ACTOR = "resident:web"
LOOKUPS_PER_10_MIN = 30


def _page(request: Request, ctx: dict[str, Any], status: int = 200) -> HTMLResponse:
    probe = Response()
    ctx["csrf_token"] = csrf.issue(request, probe)
    response = templates.TemplateResponse(request, "track.html", ctx, status_code=status)
    if "set-cookie" in probe.headers:
        response.headers.append("set-cookie", probe.headers["set-cookie"])
    response.headers["Cache-Control"] = "no-store"
    return response


def _phones(session: Session, case: Case) -> set[str]:
    rows = session.exec(select(Report.phone).where(Report.case_id == case.id, col(Report.phone).is_not(None)))
    return {p for p in rows if p}


def already_rated(session: Session, case: Case) -> bool:
    """A rating counts for the latest round of handling: after a reopen and a new 反馈, rate again."""
    rated = False
    for ev in timeline(session, case):
        if ev.action == Action.HANDLE.value:
            rated = False
        elif ev.data.get("rating"):
            rated = True
    return rated


def _lookup(session: Session, number: str, last4: str) -> tuple[Case | None, bool, str | None]:
    """(case, resident verified by phone, error message)."""
    case = get_case_by_number(session, number.strip())
    if case is None:
        return None, False, "没有找到这个案件编号，请核对后再查"
    phones = _phones(session, case)
    if not phones:
        return case, False, None  # anonymous report: anyone with the number may follow it, nobody rates
    if any(p[-4:] == last4.strip() for p in phones) and len(last4.strip()) == 4:
        return case, True, None
    return None, False, "案件编号或电话号码后四位不正确"


def _result_ctx(session: Session, case: Case, verified: bool, number: str, last4: str) -> dict[str, Any]:
    status = CaseStatus(case.status)
    return {
        "case": case,
        "status_label": status_label(case),
        "category": category_name(session, case.category_code),
        "steps": plain_steps(session, case),
        "can_rate": verified and status in RATEABLE and not already_rated(session, case),
        "rated": already_rated(session, case),
        "anonymous": not verified,
        "values": {"number": number, "last4": last4},
        "ratings": RATINGS,
    }


@router.get("/track", response_class=HTMLResponse)
def track_form(request: Request, number: str = "") -> HTMLResponse:
    return _page(request, {"values": {"number": number, "last4": ""}})


def _checked(request: Request, form: FormData) -> tuple[dict[str, str], str | None]:
    values = {k: clean_text(str(form.get(k) or "")).strip() for k in ("number", "last4", "rating", "comment")}
    token = form.get(csrf.FIELD)
    if not csrf.valid(request, token if isinstance(token, str) else None):
        return values, "页面已过期，请再查询一次"
    if not get_limiter().hit(f"track:ip:{client_ip(request)}", LOOKUPS_PER_10_MIN, 600):
        return values, "查询太频繁了，请稍后再试"
    if not values["number"]:
        return values, "请填写案件编号"
    return values, None


@router.post("/track", response_class=HTMLResponse)
async def track(request: Request) -> HTMLResponse:
    form = await request.form()
    return await run_in_threadpool(_track, request, form)  # the database blocks: not on the event loop


def _track(request: Request, form: FormData) -> HTMLResponse:
    values, error = _checked(request, form)
    if error:
        return _page(request, {"values": values, "error": error}, 400 if "过期" in error else 429 if "频繁" in error
                     else 422)
    with session_scope() as s:
        case, verified, error = _lookup(s, values["number"], values["last4"])
        if case is None:
            return _page(request, {"values": values, "error": error}, 404)
        return _page(request, _result_ctx(s, case, verified, values["number"], values["last4"]))


@router.post("/track/rate", response_class=HTMLResponse)
async def rate(request: Request) -> HTMLResponse:
    form = await request.form()
    return await run_in_threadpool(_rate, request, form)


def _rate(request: Request, form: FormData) -> HTMLResponse:
    values, error = _checked(request, form)
    if error:
        return _page(request, {"values": values, "error": error}, 400)
    with session_scope() as s:
        case, verified, error = _lookup(s, values["number"], values["last4"])
        if case is None:
            return _page(request, {"values": values, "error": error}, 404)
        ctx = _result_ctx(s, case, verified, values["number"], values["last4"])
        code = values["rating"]
        if not ctx["can_rate"]:
            ctx["error"] = "这个案件现在不能评价" if not ctx["rated"] else "您已经评价过了，谢谢"
            return _page(request, ctx, 409)
        if code not in RATINGS:
            ctx["error"] = "请选择 满意、基本满意 或 不满意"
            return _page(request, ctx, 422)
        notice = record_rating(s, case, code, values["comment"][:500])
        s.commit()
        ctx = _result_ctx(s, case, verified, values["number"], values["last4"])
        ctx["notice"] = notice
        return _page(request, ctx)


def record_rating(session: Session, case: Case, code: str, comment: str) -> str:
    """Record the resident's rating on the case; returns the sentence shown to them. Caller commits."""
    label = RATINGS[code]
    data = {"rating": label, "rating_code": code, "comment": comment, "channel": "web"}
    status = CaseStatus(case.status)
    if code == "unsatisfied":
        if status in REOPENABLE:
            apply_action(session, case, Action.REOPEN, ACTOR, reason=f"市民评价不满意：{comment}".rstrip("："),
                         data=data)
            return "已收到您的评价，案件已重新办理，我们会尽快处理"
        # 反馈 not yet verified: the verifier sees the complaint before deciding.
        apply_action(session, case, Action.NOTE, ACTOR, reason="市民评价不满意（待核实）", data=data)
        return "已收到您的评价，核实人员会在核实时重点查看"
    if status == CaseStatus.VERIFIED:
        apply_action(session, case, Action.SURVEY, ACTOR, reason=f"市民评价：{label}", data=data)
    else:
        apply_action(session, case, Action.NOTE, ACTOR, reason=f"市民评价：{label}", data=data)
    return "谢谢您的评价！"
