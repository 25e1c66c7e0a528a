"""`/supervisor/hotline`: the hotline itself — callers waiting now and the longest wait, the 15-second and
connected rates against GB/T 33358-2016's targets, abandoned calls, calls by hour today, voicemails
waiting — each figure defined one click away (`intake.telephony.hotline_stats`). The figures are also the
partial `supervisor/_hotline.html`, for the dashboard; `/supervisor/hotline/export?format=csv|xlsx`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from agent_ui.auth import SupervisorUser
from agent_ui.supervisor.export import Table, export_format, export_response
from agent_ui.templating import render
from cases.models import utcnow
from intake.deps import DbSession
from intake.telephony.hotline_stats import HotlineFigures, QueueFigures, hotline_figures

router = APIRouter(prefix="/supervisor", include_in_schema=False)


def _rate(value: float | None) -> float | None:
    return round(value * 100, 1) if value is not None else None


def _queue_row(label: str, f: QueueFigures) -> list[str | int | float | None]:
    return [label, f.offered, f.answered, _rate(f.answered_rate), f.answered_in_target, _rate(f.in_target_rate),
            f.abandoned, _rate(f.abandoned_rate), f.to_voicemail, f.other_unanswered,
            round(f.average_wait_seconds, 1) if f.average_wait_seconds is not None else None]  # fmt: skip


def hotline_tables(fig: HotlineFigures) -> list[Table]:
    queue = Table(
        "人工队列",
        ["时段", "进入人工队列", "人工接通", "接通率%", "15秒内接通", "15秒接通率%", "放弃", "放弃率%", "转留言",
         "其他未接通", "平均等待秒"],
        [_queue_row("今日", fig.today), _queue_row("近7天", fig.week)],
    )  # fmt: skip
    hours = Table(
        "今日每小时来电",
        ["小时", "来电", "进入人工队列"],
        [[f"{h:02d}:00", fig.calls_by_hour[h], fig.queued_by_hour[h]] for h in range(24)],
    )
    return [queue, hours]


def hotline_context(db: DbSession) -> dict[str, Any]:
    """What `_hotline.html` needs (the dashboard includes the partial with the same context)."""
    fig = hotline_figures(db, utcnow())
    peak = max(fig.calls_by_hour) or 1
    return {"hotline": fig, "hour_peak": peak}


@router.get("/hotline", response_class=HTMLResponse)
def page(request: Request, db: DbSession, supervisor: SupervisorUser) -> HTMLResponse:
    return render(request, "supervisor/hotline.html", nav="hotline", **hotline_context(db))


@router.get("/hotline/export")
def export(db: DbSession, supervisor: SupervisorUser, format: str = "csv") -> Response:
    fmt = export_format(format[:8])
    return export_response(fmt, "热线话务", hotline_tables(hotline_figures(db, utcnow())))
