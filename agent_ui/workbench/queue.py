"""`/console/`: the agents' queue (everything that needs a person), the claims on its items, and the
detail page of an item without a case (a report the pipeline could not process).

Claim contract (also for the case page): `POST /console/claims/{item}` claims or renews the item for the
signed-in agent — 200 with the claim badge fragment (header `X-Claim-Expires`: ISO time), 409 with a
Chinese message when another agent holds it, 404 for an item that does not exist; `POST
/console/claims/{item}/release` gives it up (204). `item` is `case:<Case.id>` or `report:<Report.id>`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field, ValidationError

from agent_ui.auth import AgentUser
from agent_ui.settings import console_settings
from agent_ui.templating import is_htmx, render
from agent_ui.workbench import claims
from cases.models import utcnow
from cases.states import Channel
from intake.deps import DbSession
from intake.telephony.followups import SMS_FOLLOWUPS, report_thread
from routing.pipeline import retry_in
from routing.work_queue import (
    COUNT_CAP,
    KIND_LABELS_ZH,
    VOICEMAIL,
    Age,
    ItemRef,
    QueueFilter,
    QueueKind,
    Sort,
    filter_choices,
    find_item,
    report_of,
    work_queue,
)

router = APIRouter(prefix="/console", include_in_schema=False)

CHANNELS_ZH = {
    Channel.VOICE.value: "电话",
    VOICEMAIL: "语音留言",
    Channel.SMS.value: "短信",
    Channel.WEB.value: "网页/H5",
    Channel.CAMERA.value: "摄像头",
    Channel.OPEN311.value: "Open311",
    Channel.API.value: "接口",
    Channel.AGENT.value: "坐席登记",
}
ICONS = {
    Channel.VOICE.value: "phone",
    VOICEMAIL: "voicemail",
    Channel.SMS.value: "message-square",
    Channel.WEB.value: "smartphone",
    Channel.CAMERA.value: "cctv",
    Channel.OPEN311.value: "layout-grid",
    Channel.API.value: "code",
    Channel.AGENT.value: "keyboard",
    "failed": "triangle-alert",
}
AGES_ZH = {Age.ANY: "不限", Age.HOUR: "1 小时内", Age.DAY: "1 天内", Age.OLDER: "超过 1 天"}
SORTS_ZH = {Sort.OLDEST: "最早的在前", Sort.DEADLINE: "时限最近的在前", Sort.CONFIDENCE: "置信度低的在前"}


class QueueParams(BaseModel):
    """The filter form (GET, so a filtered queue is a bookmark). Empty fields mean "any"."""

    channel: Literal["", "voice", "voicemail", "sms", "web", "camera", "open311", "api", "agent"] = ""
    kind: Literal["", "held", "camera", "voicemail", "sms", "failed", "returned"] = ""
    group: str = Field(default="", max_length=4, pattern=r"^[0-9]*$")
    street: str = Field(default="", max_length=9, pattern=r"^[0-9]*$")
    community: str = Field(default="", max_length=12, pattern=r"^[0-9]*$")
    age: Literal["", "1h", "1d", "older"] = ""
    sort: Literal["oldest", "deadline", "confidence"] = "oldest"

    def to_filter(self, limit: int) -> QueueFilter:
        return QueueFilter(
            channel=self.channel or None,
            kind=QueueKind(self.kind) if self.kind else None,
            major_code=self.group or None,
            street_code=self.street or None,
            community_code=self.community or None,
            age=Age(self.age),
            sort=Sort(self.sort),
            limit=limit,
        )


def _span_zh(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{max(minutes, 1)} 分钟"
    if minutes < 24 * 60:
        return f"{minutes // 60} 小时"
    return f"{minutes // (24 * 60)} 天"


def ago_zh(then: datetime, now: datetime) -> str:
    """How long ago, as an agent says it: 刚刚, 12 分钟前, 3 小时前, 2 天前."""
    seconds = (now - then).total_seconds()
    return "刚刚" if seconds < 60 else f"{_span_zh(seconds)}前"


def due_zh(deadline: datetime, now: datetime) -> str:
    left = (deadline - now).total_seconds()
    return f"已超时 {_span_zh(-left)}" if left <= 0 else f"剩 {_span_zh(left)}"


def _params(request: Request) -> tuple[QueueParams, str | None]:
    raw = {k: v for k, v in request.query_params.items() if k in QueueParams.model_fields}
    try:
        return QueueParams(**raw), None
    except ValidationError:
        return QueueParams(), "筛选条件无效，已显示全部待办"


@router.get("/", response_class=HTMLResponse)
def queue_page(request: Request, db: DbSession, agent: AgentUser) -> HTMLResponse:
    params, error = _params(request)
    now = utcnow()
    queue = work_queue(db, params.to_filter(limit=100), now, SMS_FOLLOWUPS)
    held = claims.live_claims(db, (i.key for i in queue.items), now)
    context: dict[str, Any] = {
        "nav": "queue",
        "queue": queue,
        "claims": held,
        "me_id": agent.user.id,
        "params": params,
        "error": error,
        "now": now,
        "refresh": console_settings().queue_refresh_seconds,
        "kinds": KIND_LABELS_ZH,
        "channels": CHANNELS_ZH,
        "icons": ICONS,
        "ages": AGES_ZH,
        "sorts": SORTS_ZH,
        "count_cap": COUNT_CAP,
        "ago": lambda then: ago_zh(then, now),
        "due_text": lambda deadline: due_zh(deadline, now),
    }
    if is_htmx(request):  # the auto-refresh: the counts and rows only
        return render(request, "workbench/queue.html", block="rows", **context)
    return render(request, "workbench/queue.html", choices=filter_choices(db), **context)


def _item(db: DbSession, item: str) -> ItemRef:
    found = find_item(db, item) if len(item) <= 24 else None
    if found is None:
        raise HTTPException(404, "没有这个待办事项")
    return found


@router.get("/items/{item}", response_class=HTMLResponse)
def open_item(request: Request, item: str, db: DbSession, agent: AgentUser) -> Response:
    """Opening an item claims it; a case goes on to its case page. Someone else's claim is shown, not
    broken: the agent may still look."""
    found = _item(db, item)
    now = utcnow()
    held = claims.claim(db, item, agent.user, now)
    if found.case_number is not None and held.is_mine(agent.user):
        return RedirectResponse(f"/console/cases/{found.case_number}", status_code=303)
    report = report_of(db, found.report_id)
    thread = report_thread(db, report.id) if report is not None and report.id is not None else []
    return render(
        request,
        "workbench/item.html",
        nav="queue",
        item=found,
        claim=held,
        mine=held.is_mine(agent.user),
        report=report,
        thread=thread,
        icons=ICONS,
        channels=CHANNELS_ZH,
        notice=request.query_params.get("done") == "retried",
    )


@router.post("/items/{item}/retry")
def retry(item: str, db: DbSession, agent: AgentUser) -> Response:
    found = _item(db, item)
    if found.report_id is None or found.case_id is not None or not retry_in(db, found.report_id):
        raise HTTPException(409, "该上报已有工单，无需重新处理")
    return RedirectResponse(f"/console/items/{item}?done=retried", status_code=303)


@router.post("/claims/{item}", response_class=HTMLResponse)
def claim_item(request: Request, item: str, db: DbSession, agent: AgentUser) -> Response:
    _item(db, item)
    held = claims.claim(db, item, agent.user, utcnow())
    if not held.is_mine(agent.user):
        raise HTTPException(409, f"{held.display_name} 正在处理此事项，请勿重复处理")
    return render(
        request,
        "workbench/_claim.html",
        claim=held,
        mine=True,
        headers={"X-Claim-Expires": held.expires_at.isoformat()},
    )


@router.post("/claims/{item}/release")
def release_item(item: str, db: DbSession, agent: AgentUser) -> Response:
    _item(db, item)
    claims.release(db, item, agent.user)
    return Response(status_code=204)
