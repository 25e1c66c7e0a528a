"""`/dept/`: the department's queue — its own cases by tab (待签收 / 处置中 / 待核实 / 已退回) with counts,
filters (category group, overdue, 督办 card), deadline colours, nearest deadline first. The rows refresh
themselves like the console's queue (htmx, the `rows` block only). The department is in the query
(`routing.department_queue`, scoped by `agent_ui.auth.reader`)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field, ValidationError

from agent_ui.auth import DepartmentUser, reader
from agent_ui.department import wording
from agent_ui.presenters import GRADES_ZH
from agent_ui.settings import console_settings
from agent_ui.templating import is_htmx, render
from cases.models import utcnow
from cases.reference import reference_names
from intake.deps import DbSession
from routing.department_queue import (
    GROUP_LABELS_ZH,
    Card,
    DeptFilter,
    StatusGroup,
    category_groups,
    department_queue,
)

router = APIRouter(prefix="/dept", include_in_schema=False)

CARDS_ZH = {Card.ANY: "督办件（黄牌或红牌）", Card.YELLOW: "黄牌督办", Card.RED: "红牌督办"}
SUPERVISION_ZH = {"yellow": "黄牌督办", "red": "红牌督办"}


class DeptParams(BaseModel):
    """The filter form (GET: a filtered queue is a bookmark). Empty fields mean "any"."""

    group: Literal["", "to_sign", "handling", "to_verify", "returned"] = ""
    cat: str = Field(default="", max_length=4, pattern=r"^[0-9]*$")
    overdue: Literal["", "1"] = ""
    card: Literal["", "any", "yellow", "red"] = ""

    def to_filter(self, limit: int = 100) -> DeptFilter:
        return DeptFilter(
            group=StatusGroup(self.group) if self.group else None,
            major_code=self.cat or None,
            overdue=self.overdue == "1",
            card=Card(self.card) if self.card else None,
            limit=limit,
        )

    def query(self, **changes: str) -> str:
        """This filter as a query string, with `changes` (the tabs' links keep the other filters)."""
        values = {**self.model_dump(), **changes}
        return "&".join(f"{k}={v}" for k, v in values.items() if v)


def _params(request: Request) -> tuple[DeptParams, str | None]:
    raw = {k: v for k, v in request.query_params.items() if k in DeptParams.model_fields}
    try:
        return DeptParams(**raw), None
    except ValidationError:
        return DeptParams(), "筛选条件无效，已显示全部工单"


@router.get("/", response_class=HTMLResponse)
def queue_page(request: Request, db: DbSession, user: DepartmentUser) -> HTMLResponse:
    params, error = _params(request)
    now = utcnow()
    queue = department_queue(db, reader(user), params.to_filter(), now)
    context: dict[str, Any] = {
        "nav": "dept",
        "queue": queue,
        "params": params,
        "error": error,
        "now": now,
        "refresh": console_settings().queue_refresh_seconds,
        "groups": GROUP_LABELS_ZH,
        "cards": CARDS_ZH,
        "supervision_zh": SUPERVISION_ZH,
        "grades": GRADES_ZH,
        "department_name": reference_names().department(user.user.department_code) or user.user.department_code,
        "left": lambda deadline: wording.left_zh(deadline, now),
        "clock_text": lambda clock: wording.clock_zh(clock, now),
        "used": wording.used_percent,
    }
    if is_htmx(request):  # the auto-refresh: the counts and rows only
        return render(request, "department/queue.html", block="rows", **context)
    return render(request, "department/queue.html", category_groups=category_groups(db), **context)
