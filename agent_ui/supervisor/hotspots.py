"""`/supervisor/hotspots`: the categories far above their own level in a grid now (the test and its
thresholds stated on the page), each with links to its cases, and the episodes the sweep opened (when,
whether the supervisors were texted); `/supervisor/hotspots/export?format=csv|xlsx&list=current|episodes`."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from agent_ui.auth import SupervisorUser
from agent_ui.supervisor.export import Table, export_format, export_response
from agent_ui.templating import render
from cases.models import utcnow
from cases.reference import reference_names
from intake.deps import DbSession
from routing.hotspot_board import Hotspot, current_test, hotspots, recent_episodes, swept_hotspots
from routing.hotspots import PRIOR_REPORTS, HotspotTest
from routing.models import HotspotEpisode
from routing.settings import hotspot_settings

router = APIRouter(prefix="/supervisor", include_in_schema=False)
HISTORY_DAYS = 30


def current_table(rows: list[Hotspot], test: HotspotTest) -> Table:
    return Table(
        "当前热点",
        ["网格", "网格编码", "事项类别", "类别编码", f"近{test.window_days}天件数", f"前{test.baseline_days}天件数",
         "期望件数", "倍数", "p 值", "首次发现", "已短信提醒", "工单"],
        [
            [h.grid_name, h.grid_code, h.category_name, h.category_code, h.verdict.count, h.verdict.baseline,
             round(h.verdict.expected, 2), round(h.verdict.ratio, 1), float(f"{h.verdict.p_value:.3g}"),
             h.episode.started_at if h.episode else None, h.episode.sms_sent if h.episode else 0,
             " ".join(c.number for c in h.cases)]
            for h in rows
        ],
    )  # fmt: skip


def episodes_table(rows: list[HotspotEpisode]) -> Table:
    names = reference_names()
    return Table(
        "热点记录",
        ["网格", "网格编码", "事项类别", "类别编码", "开始", "最近一次", "结束", "件数", "期望件数", "p 值", "短信"],
        [
            [names.grid(e.grid_code), e.grid_code, names.category(e.category_code), e.category_code, e.started_at,
             e.last_seen_at, e.ended_at, e.count, round(e.expected, 2), float(f"{e.p_value:.3g}"), e.sms_sent]
            for e in rows
        ],
    )  # fmt: skip


def hotspot_context(db: DbSession, *, live: bool = True) -> dict[str, Any]:
    """What `_hotspots.html` needs. `live=False` (the dashboard): as the worker's last sweep found them."""
    now = utcnow()
    test = current_test()
    return {
        "hotspots": hotspots(db, now, test) if live else swept_hotspots(db, now, test),
        "hotspot_live": live,
        "hotspot_test": test,
        "hotspot_prior": PRIOR_REPORTS,
        "hotspot_sms": hotspot_settings().hotspot_sms,
        "now": now,
    }


@router.get("/hotspots", response_class=HTMLResponse)
def page(request: Request, db: DbSession, supervisor: SupervisorUser) -> HTMLResponse:
    context = hotspot_context(db)
    episodes = recent_episodes(db, utcnow() - timedelta(days=HISTORY_DAYS))
    names = reference_names()
    return render(
        request,
        "supervisor/hotspots.html",
        nav="hotspots",
        episodes=episodes,
        history_days=HISTORY_DAYS,
        grid_name=names.grid,
        category_name=names.category,
        **context,
    )


@router.get("/hotspots/export")
def export(db: DbSession, supervisor: SupervisorUser, format: str = "csv", list: str = "current") -> Response:
    fmt = export_format(format[:8])
    test = current_test()
    current = current_table(hotspots(db, utcnow(), test), test)
    history = episodes_table(recent_episodes(db, utcnow() - timedelta(days=HISTORY_DAYS), limit=1000))
    tables = [history, current] if list == "episodes" else [current, history]
    return export_response(fmt, "热点" if list != "episodes" else "热点记录", tables)
