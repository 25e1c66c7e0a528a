"""`/dept/cases/{number}`: a case as its department sees it, and the department's forms — 签收, 退单 (reason
code + text, within the window after dispatch), 延期申请, 反馈 (note + photos), 进展备注, 补充材料 / 恢复.

Each post calls one use case of `routing.department` in a savepoint. Done: a redirect to the page with a
fixed notice code. Refused (a `cases.reference.InvalidInput` or a move the lifecycle does not allow): the
page again with 422, the Chinese reason in the form, and what was typed kept. Another department's case is
"not found" (404), by page and by every post: the department is in the query (`agent_ui.auth.reader`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field, ValidationError
from sqlmodel import Session
from starlette.datastructures import UploadFile

from agent_ui.auth import DepartmentUser, Principal, reader
from agent_ui.department import wording
from agent_ui.department.refusals import Refusal, refusal_zh
from agent_ui.department.view import department_page
from agent_ui.templating import render
from cases.lifecycle import IllegalTransition
from cases.models import Case, utcnow
from cases.reference import InvalidInput
from cases.settings import kernel_settings
from intake.deps import DbSession
from intake.settings import storage_settings
from intake.storage import AttachmentRejected, clean_image, save_image
from routing import department
from routing.case_context import readable_case
from routing.department_case import EXTENSION_STATES_ZH, DepartmentCase

router = APIRouter(prefix="/dept/cases/{number}", include_in_schema=False)

NOT_FOUND = "没有这个工单，或该工单不属于本单位"
MAX_PHOTOS = 9
PHOTO_CHANNEL = "dept"  # Attachment.channel of the department's 反馈 photos
TEMPLATE = "department/case.html"

# What a redirect after a form tells the department: a fixed code in the URL, never text from the URL.
NOTICES = {
    "signed": "已签收，办结时限开始计时",
    "returned": "已退单，工单退回热线重新派遣",
    "extension": "延期申请已提交，等待班长审批（审批期间时限暂停）",
    "handled": "已反馈处置结果，等待核实",
    "note": "进展备注已保存",
    "info": "已标记为等待市民补充材料，时限暂停",
    "resumed": "材料已补充，时限恢复计时",
}


class ReturnForm(BaseModel):
    reason_code: str = Field(default="", max_length=32)
    reason_text: str = Field(default="", max_length=500)


class ExtensionForm(BaseModel):
    working_days: str = Field(default="", max_length=4)
    reason: str = Field(default="", max_length=500)
    until: str = Field(default="", max_length=10)


class TextForm(BaseModel):
    text: str = Field(default="", max_length=2000)


def _dept(user: Principal) -> str | None:
    """The department the signed-in staff act for (the use cases check the case is theirs)."""
    return user.user.department_code


def _case(db: Session, user: Principal, number: str) -> Case:
    case = readable_case(db, reader(user), number)
    if case is None:
        raise HTTPException(404, NOT_FOUND)
    return case


def _page(
    request: Request,
    db: Session,
    user: Principal,
    number: str,
    *,
    status: int = 200,
    error: str | None = None,
    form: str | None = None,
    typed: dict[str, str] | None = None,
) -> HTMLResponse:
    now = utcnow()
    page = department_page(db, reader(user), number, now)
    if page is None:
        raise HTTPException(404, NOT_FOUND)
    if form is not None and not _shown(page.case, form):
        form = None  # its form is not on the page (the case moved on): the message goes to the top
    return render(
        request,
        TEMPLATE,
        status_code=status,
        nav="dept",
        page=page,
        d=page.case,
        now=now,
        error=error,
        error_form=form,
        typed=typed or {},
        notice=NOTICES.get(request.query_params.get("done", "")) if status == 200 else None,
        return_reasons=list(department.RETURN_REASONS.items()),
        extension_states=EXTENSION_STATES_ZH,
        max_photos=MAX_PHOTOS,
        left=lambda deadline: wording.left_zh(deadline, now),
        clock_text=lambda clock: wording.clock_zh(clock, now),
        limit_text=wording.limit_zh,
        used=wording.used_percent,
    )


def _shown(dc: DepartmentCase, form: str) -> bool:
    """Whether the page shows `form` for this case now (a refusal is shown in its form, else on top)."""
    a = dc.allowed
    shown = {
        "sign": a.sign,
        "return": a.return_,
        "extension": a.extension and dc.pending_extension is None and dc.extensions_left > 0,
        "handle": a.handle,
        "info": a.request_info and not a.resume,
        "resume": a.resume,
        "note": a.note,
    }
    return shown.get(form, False)


@router.get("", response_class=HTMLResponse)
def case_page(request: Request, db: DbSession, user: DepartmentUser, number: str) -> HTMLResponse:
    return _page(request, db, user, number)


def _act(
    request: Request,
    db: Session,
    user: Principal,
    case: Case,
    *,
    form: str,
    typed: dict[str, str],
    done: str,
    run: Callable[[], object],
    refused_note: str = "",
) -> Response:
    """Run one use case in a savepoint: done → back to the page with its notice; refused → the page with
    422 and the reason in the form (nothing of the refused attempt kept)."""
    try:
        with db.begin_nested():
            run()
    except ValidationError:
        message = "输入内容有误或过长，请检查后重试"
    except Refusal as exc:
        message = str(exc)
    except (IllegalTransition, InvalidInput) as exc:
        message = refusal_zh(exc)
    else:
        return RedirectResponse(f"/dept/cases/{case.number}?done={done}#top", status_code=303)
    db.refresh(case)
    return _page(request, db, user, case.number, status=422, error=message + refused_note, form=form, typed=typed)


@router.post("/sign")
def sign(request: Request, db: DbSession, user: DepartmentUser, number: str) -> Response:
    case = _case(db, user, number)
    return _act(
        request,
        db,
        user,
        case,
        form="sign",
        typed={},
        done="signed",
        run=lambda: department.sign_for(db, case, user.actor, department_code=_dept(user)),
    )


@router.post("/return")
def return_case(
    request: Request,
    db: DbSession,
    user: DepartmentUser,
    number: str,
    reason_code: Annotated[str, Form()] = "",
    reason_text: Annotated[str, Form()] = "",
) -> Response:
    case = _case(db, user, number)
    typed = {"reason_code": reason_code[:32], "reason_text": reason_text[:500]}

    def run() -> None:
        f = ReturnForm(reason_code=reason_code, reason_text=reason_text)
        if f.reason_code not in department.RETURN_REASONS:
            raise Refusal("请选择退单原因")
        if not f.reason_text.strip():
            raise Refusal("请填写退单说明：为什么不属于本单位，应由哪个单位办理")
        department.return_case(
            db,
            case,
            user.actor,
            reason_code=f.reason_code,
            reason_text=f.reason_text.strip(),
            department_code=_dept(user),
        )

    return _act(request, db, user, case, form="return", typed=typed, done="returned", run=run)


def _local_day_end(day: str) -> datetime | None:
    """'2026-10-12' → the end of that day's working time in city time (17:30 on the default calendar):
    the date a department asks for means "by that day"."""
    if not day:
        return None
    try:
        d = date.fromisoformat(day)
    except ValueError:
        raise Refusal("希望完成日期格式不正确，请重新选择") from None
    return datetime.combine(d, time(23, 59), ZoneInfo(kernel_settings().timezone))


@router.post("/extension")
def extension(
    request: Request,
    db: DbSession,
    user: DepartmentUser,
    number: str,
    working_days: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
    until: Annotated[str, Form()] = "",
) -> Response:
    case = _case(db, user, number)
    typed = {"working_days": working_days[:4], "reason": reason[:500], "until": until[:10]}

    def run() -> None:
        f = ExtensionForm(working_days=working_days, reason=reason, until=until)
        if not (f.working_days.isascii() and f.working_days.isdigit()):
            raise Refusal("请选择延期的工作日数")
        if not f.reason.strip():
            raise Refusal("请填写延期原因")
        department.request_extension(
            db,
            case,
            user.actor,
            working_days=int(f.working_days),
            reason=f.reason.strip(),
            until=_local_day_end(f.until),
            department_code=_dept(user),
        )

    return _act(request, db, user, case, form="extension", typed=typed, done="extension", run=run)


@router.post("/handle")
async def handle(
    request: Request, db: DbSession, user: DepartmentUser, number: str, note: Annotated[str, Form()] = ""
) -> Response:
    form = await request.form()
    photos = [f for f in form.getlist("photos") if isinstance(f, UploadFile) and f.filename]
    return await run_in_threadpool(_handle, request, db, user, number, note, photos)


def _handle(
    request: Request, db: Session, user: Principal, number: str, note: str, photos: list[UploadFile]
) -> Response:
    case = _case(db, user, number)
    typed = {"note": note[:2000]}

    def run() -> None:
        f = TextForm(text=note)
        if not f.text.strip():
            raise Refusal("请填写处置情况说明")
        if len(photos) > MAX_PHOTOS:
            raise Refusal(f"最多上传 {MAX_PHOTOS} 张照片")
        cleaned = []
        for photo in photos:  # every photo checked before any is stored
            try:
                cleaned.append(clean_image(photo.file.read(storage_settings().attachment_max_bytes + 1)))
            except AttachmentRejected as exc:
                raise Refusal(f"照片“{photo.filename}”：{exc.message}") from None
        if not cleaned and department.photo_required(db, case):
            raise Refusal("该类事项须上传处置后的现场照片")
        keys = [save_image(db, img, channel=PHOTO_CHANNEL).id for img in cleaned]
        department.mark_handled(db, case, user.actor, note=f.text.strip(), photos=keys, department_code=_dept(user))

    again = "（照片需要重新选择）" if photos else ""
    return _act(request, db, user, case, form="handle", typed=typed, done="handled", run=run, refused_note=again)


def _text_action(
    request: Request,
    db: Session,
    user: Principal,
    number: str,
    text: str,
    *,
    form: str,
    done: str,
    missing: str,
    use_case: Callable[..., Any],
) -> Response:
    case = _case(db, user, number)
    typed = {"text": text[:2000]}

    def run() -> None:
        f = TextForm(text=text)
        if not f.text.strip():
            raise Refusal(missing)
        use_case(db, case, user.actor, f.text.strip(), department_code=_dept(user))

    return _act(request, db, user, case, form=form, typed=typed, done=done, run=run)


@router.post("/note")
def note(
    request: Request, db: DbSession, user: DepartmentUser, number: str, text: Annotated[str, Form()] = ""
) -> Response:
    return _text_action(
        request,
        db,
        user,
        number,
        text,
        form="note",
        done="note",
        missing="请填写进展备注",
        use_case=department.add_progress_note,
    )


@router.post("/info")
def request_info(
    request: Request, db: DbSession, user: DepartmentUser, number: str, text: Annotated[str, Form()] = ""
) -> Response:
    return _text_action(
        request,
        db,
        user,
        number,
        text,
        form="info",
        done="info",
        missing="请填写需要市民补充的材料",
        use_case=department.request_info,
    )


@router.post("/resume")
def resume(
    request: Request, db: DbSession, user: DepartmentUser, number: str, text: Annotated[str, Form()] = ""
) -> Response:
    return _text_action(
        request,
        db,
        user,
        number,
        text,
        form="resume",
        done="resumed",
        missing="请说明补充了什么材料",
        use_case=department.resume_work,
    )
