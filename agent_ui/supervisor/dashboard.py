"""`/supervisor/` (概览): intake by channel, category group, street, community and grid; the 三率 per
department and per street with their definitions; overdue and 督办 lists; the grid map; and every list
as CSV or XLSX (`/supervisor/export/{table}.{fmt}?days=30`), with the monthly 考核表
(`/supervisor/reports/monthly.xlsx?month=2026-11`)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from agent_ui.auth import Principal, SupervisorUser, reader
from agent_ui.supervisor import charts, dashboard_tables
from agent_ui.supervisor.export import ExportFormat, Table, export_format, export_response
from agent_ui.supervisor.hotline import hotline_context
from agent_ui.supervisor.hotspots import hotspot_context
from agent_ui.templating import render
from agent_ui.workbench.queue import CHANNELS_ZH
from cases.models import utcnow
from cases.reference import InvalidInput
from intake.deps import DbSession
from routing.dashboard.monthly import monthly_report, parse_month
from routing.dashboard.rates import RATES, percent
from routing.dashboard.read import PERIODS, Dashboard, dashboard
from routing.escalation import CLOCK_ZH
from routing.gridmap import grid_map_layer
from routing.supervision import FILTERS, supervision_page

router = APIRouter(prefix="/supervisor", include_in_schema=False)

LIST_LIMIT = 20  # rows of the overdue and 督办 lists on the page (the exports have them all)


def _days(value: str) -> int:
    """The period parameter: 1, 7, 30 or 90 days; anything else is a 400 with a Chinese message."""
    if not value.isdigit() or int(value) not in PERIODS:
        raise HTTPException(400, "统计周期只能是 1、7、30 或 90 天")
    return int(value)


def _page(db: Session, supervisor: Principal, days: int) -> Dashboard:
    return dashboard(db, reader(supervisor), days, channel_names=CHANNELS_ZH)


@router.get("/", response_class=HTMLResponse)
def overview(request: Request, db: DbSession, supervisor: SupervisorUser, days: str = "30") -> HTMLResponse:
    page = _page(db, supervisor, _days(days[:3]))
    period = PERIODS[page.days]
    return render(
        request,
        "supervisor/dashboard.html",
        nav="overview",
        page=page,
        periods=PERIODS,
        period=period,
        rates=RATES,
        percent=percent,
        daily_chart=charts.daily_bars(page.daily),
        grid_map=charts.grid_map(grid_map_layer(), page.grid_counts, period),
        supervision=supervision_page(db, reader(supervisor), "all", limit=LIST_LIMIT),
        card_filters=FILTERS,
        clock_zh=CLOCK_ZH,
        list_limit=LIST_LIMIT,
        **hotline_context(db),
        **hotspot_context(db, live=False),  # the sweep's: eight weeks of counts are the worker's job
    )


def _tables(db: Session, supervisor: Principal, days: int) -> dict[str, Callable[[], list[Table]]]:
    def page() -> Dashboard:
        return _page(db, supervisor, days)

    return {
        "intake": lambda: [dashboard_tables.intake_table(page())],
        "departments": lambda: [
            dashboard_tables.rates_table("承办单位三率", "承办单位", (p := page()).departments, p.overall),
            dashboard_tables.definitions_table(),
        ],
        "streets": lambda: [
            dashboard_tables.rates_table("街道三率", "街道", page().streets),
            dashboard_tables.definitions_table(),
        ],
        "overdue": lambda: [dashboard_tables.overdue_table(page())],
        "supervision": lambda: [
            dashboard_tables.supervision_table(supervision_page(db, reader(supervisor), "all", limit=10_000))
        ],
    }


FILENAMES = {
    "intake": "受理量",
    "departments": "承办单位三率",
    "streets": "街道三率",
    "overdue": "超时工单",
    "supervision": "督办工单",
}


@router.get("/export/{table}.{fmt}")
def export(db: DbSession, supervisor: SupervisorUser, table: str, fmt: str, days: str = "30") -> Response:
    chosen = export_format(fmt[:8])
    n = _days(days[:3])
    build = _tables(db, supervisor, n).get(table)
    if build is None:
        raise HTTPException(404, "没有这个清单")
    stamp = utcnow().strftime("%Y%m%d")
    suffix = "" if table in ("overdue", "supervision") else f"-{PERIODS[n]}"
    return export_response(chosen, f"{FILENAMES[table]}{suffix}-{stamp}", build())


@router.get("/reports/monthly.xlsx")
def monthly(db: DbSession, supervisor: SupervisorUser, month: str = "") -> Response:
    try:
        first = parse_month(month[:16] or utcnow().strftime("%Y-%m"))
    except InvalidInput as exc:
        raise HTTPException(400, str(exc)) from None
    report = monthly_report(db, first)
    name = f"考核表-{first.year}-{first.month:02d}"
    return export_response(ExportFormat.XLSX, name, dashboard_tables.monthly_tables(report))
