"""`/grid/`: the grid worker's phone pages. Their 核实 / 核查 tasks, their grids' open cases, one case with
what they need on site and its form, and 上报 from patrol with photo, GPS and a category from their
grids' common list. Every case is read through `routing.grid_queue` with the worker's grids as the
query's filter: a case of another grid answers 404, whatever its number.

Forms post as multipart (photos) and work without JavaScript; grid.js adds the GPS fix, photo previews and
a guard against a second tap, htmx the category search and the wait for the new case. A refusal answers
422 with the page again, the message on top and what was typed kept (photos must be taken again: a
browser cannot be handed a file back)."""

from __future__ import annotations

import uuid
from typing import Literal

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field, ValidationError
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from agent_ui.auth import GridWorkerUser, Principal, reader
from agent_ui.grid.patrol import FIELDS, PatrolError, PatrolForm, Submission, register_patrol_report, submission
from agent_ui.grid.photos import MAX_PHOTOS, PhotoRejected, cleaned, store, uploads
from agent_ui.templating import render
from cases.models import Case, utcnow
from cases.reference import InvalidInput, reference_names, short_category_name
from cases.sanitize import clean_text
from intake.deps import DbSession
from intake.settings import storage_settings
from intake.web.reference import common_categories, search_categories
from routing.grid_queue import (
    COMMON_LIMIT,
    TaskKind,
    common_category_codes,
    grid_case,
    grid_open_cases,
    grid_tasks,
    on_site,
)
from routing.verification import NOTE_MAX, check_case, verify_case

router = APIRouter(prefix="/grid", include_in_schema=False)

NOT_FOUND = "没有这个工单，或它不在您负责的网格内"
# What a redirect after an action says: a fixed code in the URL, never text from the URL.
NOTICES = {
    "verified": "已核实通过，工单转入回访",
    "verify_failed": "核实不通过，已退回承办单位继续处置",
    "checked": "核查属实，已立案并进入派遣",
    "not_found": "核查不属实，已不予立案",
}
PHOTOS_AGAIN = "（照片需要重新拍摄）"


class VerifyForm(BaseModel):
    result: Literal["pass", "fail"]
    note: str = Field(default="", max_length=NOTE_MAX * 2)


class CheckForm(BaseModel):
    result: Literal["found", "not_found"]
    note: str = Field(default="", max_length=NOTE_MAX * 2)


def _texts(form: FormData, names: tuple[str, ...]) -> dict[str, str]:
    return {k: clean_text(str(v) if isinstance(v := form.get(k), str) else "").strip() for k in names}


def _grids(principal: Principal) -> tuple[str, ...]:
    return tuple(principal.user.grids)


def _case(db: Session, principal: Principal, number: str) -> Case:
    case = grid_case(db, reader(principal), number)
    if case is None:
        raise HTTPException(404, NOT_FOUND)
    return case


# --- lists ----------------------------------------------------------------------------------------


@router.get("/", response_class=HTMLResponse)
def home(request: Request, db: DbSession, worker: GridWorkerUser, done: str = "", n: str = "") -> HTMLResponse:
    """The tasks: 核查 first (a resident waits for 立案), then 核实 by its deadline."""
    names = reference_names()
    return render(
        request,
        "grid/home.html",
        nav="grid",
        tasks=grid_tasks(db, reader(worker)),
        grids=[(g, names.grid(g) or g) for g in _grids(worker)],
        now=utcnow(),
        notice=NOTICES.get(done),
        notice_number=n[:32] if done in NOTICES else "",
    )


@router.get("/cases", response_class=HTMLResponse)
def open_cases(request: Request, db: DbSession, worker: GridWorkerUser) -> HTMLResponse:
    return render(request, "grid/cases.html", nav="grid", rows=grid_open_cases(db, reader(worker)), now=utcnow())


# --- one case: 核实 / 核查 --------------------------------------------------------------------------


def _case_page(
    request: Request,
    db: Session,
    case: Case,
    *,
    typed: dict[str, str] | None = None,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "grid/case.html",
        status_code=status,
        nav="grid",
        site=on_site(db, case),
        TaskKind=TaskKind,
        typed=typed or {},
        error=error,
        now=utcnow(),
        max_photos=MAX_PHOTOS,
        max_mb=storage_settings().attachment_max_bytes // (1024 * 1024),
    )


@router.get("/cases/{number}", response_class=HTMLResponse)
def case_page(request: Request, db: DbSession, worker: GridWorkerUser, number: str) -> HTMLResponse:
    return _case_page(request, db, _case(db, worker, number))


@router.post("/cases/{number}/verify", response_class=HTMLResponse)
async def verify(request: Request, db: DbSession, worker: GridWorkerUser, number: str) -> Response:
    form = await request.form(max_files=MAX_PHOTOS + 1)
    return await run_in_threadpool(_on_site, request, db, worker, number, form, "verify")


@router.post("/cases/{number}/check", response_class=HTMLResponse)
async def check(request: Request, db: DbSession, worker: GridWorkerUser, number: str) -> Response:
    form = await request.form(max_files=MAX_PHOTOS + 1)
    return await run_in_threadpool(_on_site, request, db, worker, number, form, "check")


def _on_site(
    request: Request, db: Session, worker: Principal, number: str, form: FormData, what: Literal["verify", "check"]
) -> Response:
    """核实 or 核查: the form checked, the photos cleaned, then one use case in a savepoint, so a refusal keeps
    nothing of the attempt (not the photos' rows either)."""
    case = _case(db, worker, number)
    typed = _texts(form, ("result", "note"))
    files = uploads(form)
    again = PHOTOS_AGAIN if files else ""
    try:
        parsed = VerifyForm(**typed) if what == "verify" else CheckForm(**typed)
        images = cleaned(files)
        with db.begin_nested():
            photos = store(db, images)
            if isinstance(parsed, VerifyForm):
                passed = parsed.result == "pass"
                verify_case(
                    db, case, worker.actor, passed=passed, note=parsed.note, photos=photos, grids=_grids(worker)
                )
                done = "verified" if passed else "verify_failed"
            else:
                found = parsed.result == "found"
                check_case(db, case, worker.actor, found=found, note=parsed.note, photos=photos, grids=_grids(worker))
                done = "checked" if found else "not_found"
    except ValidationError as exc:
        fields = {str(e["loc"][0]) for e in exc.errors() if e.get("loc")}
        message = (
            "说明过长，请精简后再提交"
            if fields == {"note"}
            else "请选择核实结果"
            if what == "verify"
            else "请选择核查结果"
        )
        return _refused(request, db, case, typed, message + again)
    except PhotoRejected as exc:
        return _refused(request, db, case, typed, f"{exc}{PHOTOS_AGAIN}")
    except InvalidInput as exc:  # VerificationRefused, and a refused move of the lifecycle
        return _refused(request, db, case, typed, f"{exc}{again}")
    return RedirectResponse(f"/grid/?done={done}&n={case.number}", status_code=303)


def _refused(request: Request, db: Session, case: Case, typed: dict[str, str], message: str) -> HTMLResponse:
    db.refresh(case)
    return _case_page(request, db, case, typed=typed, error=message, status=422)


# --- 上报 from patrol ---------------------------------------------------------------------------------


def _categories(db: Session, principal: Principal, chosen: str) -> list[tuple[str, str]]:
    """Their grids' most reported categories, filled up with the city's common ones; the chosen one kept."""
    names = reference_names()
    picks: dict[str, str] = {}
    for code in common_category_codes(db, reader(principal)):
        if (name := names.category(code, active_only=True)) is not None:
            picks[code] = short_category_name(name)
    for choice in common_categories():
        if len(picks) >= COMMON_LIMIT:
            break
        picks.setdefault(choice.code, choice.name)
    if chosen and chosen not in picks and (name := names.category(chosen, active_only=True)):
        picks[chosen] = short_category_name(name)
    return list(picks.items())


def _all_categories() -> list[tuple[str, str]]:
    return sorted((code, c.name) for code, c in reference_names().categories.items() if c.active)


def _report_page(
    request: Request,
    db: Session,
    principal: Principal,
    values: dict[str, str],
    *,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    names = reference_names()
    grids = [(g, names.grid(g) or g) for g in _grids(principal)]
    values = {"grid_code": grids[0][0] if grids else ""} | {k: v for k, v in values.items() if v}
    return render(
        request,
        "grid/report.html",
        status_code=status,
        nav="grid",
        values=values,
        error=error,
        grids=grids,
        common=_categories(db, principal, values.get("category_code", "")),
        everything=_all_categories(),
        max_photos=MAX_PHOTOS,
        max_mb=storage_settings().attachment_max_bytes // (1024 * 1024),
    )


@router.get("/report", response_class=HTMLResponse)
def report_form(request: Request, db: DbSession, worker: GridWorkerUser) -> HTMLResponse:
    return _report_page(request, db, worker, {"key": uuid.uuid4().hex})


@router.get("/report/categories", response_class=HTMLResponse)
def category_search(request: Request, db: DbSession, worker: GridWorkerUser, q: str = "") -> HTMLResponse:
    """Fragment: matter categories whose name contains `q`, as choices of the form's category."""
    return render(request, "grid/_categories.html", found=search_categories(db, q[:20]), q=q[:20])


@router.post("/report", response_class=HTMLResponse)
async def report(request: Request, db: DbSession, worker: GridWorkerUser) -> Response:
    form = await request.form(max_files=MAX_PHOTOS + 1)
    return await run_in_threadpool(_report, request, db, worker, form)


def _report(request: Request, db: Session, worker: Principal, form: FormData) -> Response:
    values = _texts(form, FIELDS)
    files = uploads(form)
    again = PHOTOS_AGAIN if files else ""
    try:
        patrol = PatrolForm.of(values)
        images = cleaned(files)
        register_patrol_report(db, patrol, worker.actor, grids=_grids(worker), images=images)
    except ValidationError:
        return _report_page(request, db, worker, values, error="输入内容过长，请精简后再提交" + again, status=422)
    except (PatrolError, PhotoRejected) as exc:
        return _report_page(request, db, worker, values, error=f"{exc}{again}", status=422)
    return RedirectResponse(f"/grid/reports/{patrol.key}", status_code=303)


def _submitted(db: Session, principal: Principal, key: str) -> Submission:
    made = submission(db, key[:64], principal.actor)
    if made is None:
        raise HTTPException(404, "没有找到这次上报")
    return made


@router.get("/reports/{key}", response_class=HTMLResponse)
def submitted(request: Request, db: DbSession, worker: GridWorkerUser, key: str) -> HTMLResponse:
    """Where a report lands: what became of it (the case, its department), waiting for the pipeline."""
    return render(request, "grid/submitted.html", nav="grid", made=_submitted(db, worker, key))


@router.get("/reports/{key}/status", response_class=HTMLResponse)
def submitted_status(request: Request, db: DbSession, worker: GridWorkerUser, key: str) -> HTMLResponse:
    """The status block alone, polled by htmx until the case exists."""
    return render(request, "grid/submitted.html", block="status", made=_submitted(db, worker, key))
