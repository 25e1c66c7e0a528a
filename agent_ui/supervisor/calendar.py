"""`/supervisor/calendar`: the working calendar of a year (months, holidays red, 调休 make-up workdays
marked, the city's own days), one day's editor (a day off, a working day, its own hours; a note is
required) and the year's change history. Editing a day is `routing.calendar_admin.set_day`; deadlines
counted afterwards use it (running processes within the routing refresh period)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field, ValidationError
from sqlmodel import Session

from agent_ui.auth import SupervisorUser
from agent_ui.templating import is_htmx, render
from intake.deps import DbSession
from routing.calendar_admin import (
    KIND_ZH,
    NAME_MAX,
    NOTE_MAX,
    SOURCE_ZH,
    WEEKDAY_ZH,
    CalendarError,
    calendar_page,
    city_timezone,
    parse_periods_text,
    set_day,
)

router = APIRouter(prefix="/supervisor/calendar", include_in_schema=False)

# What a redirect after an edit tells the supervisor: a fixed code in the URL, never text from the URL.
NOTICES = {"saved": "已保存。此后计算的截止时间按修改后的日历。"}
KINDS = [("holiday", "休息日（不计工作时间）"), ("workday", "工作日"), ("usual", "按常规作息（取消特别设置）")]
FIRST_YEAR, LAST_YEAR = 2000, 2100


class DayForm(BaseModel):
    kind: Literal["holiday", "workday", "usual"]
    name: str = Field(default="", max_length=NAME_MAX)
    periods: str = Field(default="", max_length=100)
    note: str = Field(default="", max_length=NOTE_MAX)


def _this_year() -> int:
    return datetime.now(city_timezone()).year


def _year(value: str) -> int:
    value = value.strip()
    if value.isdigit() and len(value) == 4 and FIRST_YEAR <= int(value) <= LAST_YEAR:
        return int(value)
    return _this_year()


def _day(value: str) -> date:
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise HTTPException(404, "没有这个日期") from None
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise HTTPException(404, "没有这个日期")
    return day


def _context(db: Session, year: int, selected: date | None) -> dict[str, Any]:
    page = calendar_page(db, year, selected)
    return {
        "nav": "calendar",
        "page": page,
        "view": page.view,
        "cell": page.selected,
        "kinds": KINDS,
        "kind_zh": KIND_ZH,
        "source_zh": SOURCE_ZH,
        "weekdays": WEEKDAY_ZH,
        "today": datetime.now(city_timezone()).date(),
    }


def _form_of(cell_entry: Any) -> dict[str, str]:
    """The editor's fields for a day as it is now."""
    if cell_entry is None:
        return {"kind": "usual", "name": "", "periods": "", "note": ""}
    return {"kind": cell_entry.kind, "name": cell_entry.name, "periods": cell_entry.periods_text, "note": ""}


def _page(
    request: Request,
    db: Session,
    year: int,
    selected: date | None,
    *,
    form: dict[str, str] | None = None,
    error: str | None = None,
    status: int = 200,
    block: str | None = None,
) -> HTMLResponse:
    context = _context(db, year, selected)
    cell = context["cell"]
    return render(
        request,
        "supervisor/calendar.html",
        status_code=status,
        block=block,
        form=form if form is not None else _form_of(cell.entry if cell else None),
        error=error,
        notice=NOTICES.get(request.query_params.get("done", "")),
        **context,
    )


@router.get("", response_class=HTMLResponse)
def year_page(request: Request, db: DbSession, supervisor: SupervisorUser, year: str = "", day: str = "") -> Response:
    selected = None
    if day:
        try:
            selected = date.fromisoformat(day[:10])
        except ValueError:
            selected = None
    shown = selected.year if selected and not year else _year(year)
    if selected and selected.year != shown:
        selected = None
    return _page(request, db, shown, selected)


@router.get("/{day}", response_class=HTMLResponse)
def day_editor(request: Request, db: DbSession, supervisor: SupervisorUser, day: str) -> Response:
    """One day's editor: the panel alone for htmx (a click in the months), else the page with it open."""
    d = _day(day)
    return _page(request, db, d.year, d, block="day_editor" if is_htmx(request) else None)


@router.post("/{day}", response_class=HTMLResponse)
def save_day(
    request: Request,
    db: DbSession,
    supervisor: SupervisorUser,
    day: str,
    kind: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
    periods: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
) -> Response:
    d = _day(day)
    typed = {"kind": kind[:16], "name": name[:200], "periods": periods[:200], "note": note[:2000]}
    try:
        form = DayForm.model_validate({"kind": kind, "name": name, "periods": periods, "note": note})
        set_day(
            db,
            d,
            kind=None if form.kind == "usual" else form.kind,
            name=form.name,
            periods=parse_periods_text(form.periods) if form.kind != "usual" else None,
            editor=supervisor.actor,
            note=form.note,
        )
    except ValidationError as exc:
        return _page(request, db, d.year, d, form=typed, error=_form_problem(exc), status=422)
    except CalendarError as exc:
        return _page(request, db, d.year, d, form=typed, error=str(exc), status=422)
    return RedirectResponse(
        f"/supervisor/calendar?year={d.year}&day={d.isoformat()}&done=saved#day-editor", status_code=303
    )


def _form_problem(exc: ValidationError) -> str:
    fields = {str(e["loc"][0]) for e in exc.errors() if e["loc"]}
    if "kind" in fields:
        return "请选择：休息日、工作日或按常规作息"
    if "name" in fields:
        return f"名称不能超过 {NAME_MAX} 字"
    if "periods" in fields:
        return "工作时段过长，请写作 08:30-12:00 14:00-17:30"
    return f"修改原因不能超过 {NOTE_MAX} 字"
