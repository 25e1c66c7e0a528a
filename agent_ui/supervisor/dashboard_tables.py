"""The dashboard's lists as export tables (`agent_ui.supervisor.export.Table`): the same rows the page
shows, with rates as percentages rounded to 0.1 (empty when nothing was counted), and the 考核表."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from agent_ui.supervisor.export import Cell, Table
from cases.lifecycle import LABELS_ZH, CaseStatus
from cases.queries import local
from routing.dashboard.monthly import MonthlyReport
from routing.dashboard.rates import RATES, Counters
from routing.dashboard.read import PERIODS, Dashboard, RateRow
from routing.escalation import CLOCK_ZH
from routing.supervision import CARD_ZH, SupervisionPage


def pct(value: float | None) -> float | None:
    return None if value is None else round(value * 100, 1)


COUNTER_COLUMNS: tuple[tuple[str, Callable[[Counters], int]], ...] = (
    ("派遣", lambda c: c.dispatched),
    ("按时签收", lambda c: c.sign_met),
    ("签收超时", lambda c: c.sign_late),
    ("按期办结", lambda c: c.handle_met),
    ("办结超期", lambda c: c.handle_late),
    ("评价", lambda c: c.rated),
    ("满意/基本满意", lambda c: c.satisfied),
    ("退单", lambda c: c.returned),
    ("重开", lambda c: c.reopened),
    ("延期", lambda c: c.extended),
    ("黄牌督办", lambda c: c.yellow),
    ("红牌督办", lambda c: c.red),
)


def _rate_headers() -> list[str]:
    return [h for h, _ in COUNTER_COLUMNS] + [f"{r.name}(%)" for r in RATES]


def _rate_cells(c: Counters) -> list[Cell]:
    return [f(c) for _, f in COUNTER_COLUMNS] + [pct(r.of(c)) for r in RATES]


def rates_table(title: str, first: str, rows: Sequence[RateRow], overall: RateRow | None = None) -> Table:
    body: list[list[Cell]] = [[r.name, r.key, *_rate_cells(r.counters)] for r in rows]
    if overall is not None:
        body.append([overall.name, "", *_rate_cells(overall.counters)])
    return Table(title, [first, "代码", *_rate_headers()], body)


def intake_table(page: Dashboard) -> Table:
    body: list[list[Cell]] = []
    for t in page.intake:
        for r in t.rows:
            body.append([t.title, r.name, r.key, *(r.counts[p] for p in PERIODS)])
    return Table("受理量", ["维度", "名称", "代码", *PERIODS.values()], body)


def overdue_table(page: Dashboard) -> Table:
    body: list[list[Cell]] = []
    for r in page.overdue:
        due = r.clock.due_at
        hours = round((page.now - due).total_seconds() / 3600, 1) if due is not None else None
        body.append([
            r.case.number,
            r.category_name or r.case.category_code,
            r.case.title,
            r.department_name or r.case.department_code,
            LABELS_ZH.get(CaseStatus(r.case.status), r.case.status),
            CLOCK_ZH.get(r.clock.kind, r.clock.kind),
            local(due),
            hours,
        ])  # fmt: skip
    return Table("超时工单", ["工单号", "问题类别", "标题", "承办单位", "状态", "时限", "期限", "已超时(小时)"], body)


def supervision_table(page: SupervisionPage) -> Table:
    body: list[list[Cell]] = [
        [
            CARD_ZH.get(r.case.supervision or "", "超时"),
            r.case.number,
            r.category_name or r.case.category_code,
            r.case.title,
            r.department_name or r.case.department_code,
            LABELS_ZH.get(CaseStatus(r.case.status), r.case.status),
            local(r.due_at),
            r.last_step_label,
        ]
        for r in page.rows
    ]
    return Table("督办工单", ["督办", "工单号", "问题类别", "标题", "承办单位", "状态", "当前期限", "最近一步"], body)


def definitions_table() -> Table:
    rows: list[list[Cell]] = [[r.name, r.numerator, r.denominator, r.note] for r in RATES]
    return Table("指标口径", ["指标", "分子", "分母", "统计范围"], rows)


def monthly_tables(report: MonthlyReport) -> list[Table]:
    month = f"{report.month.year}年{report.month.month}月"
    headers = ["承办单位", "代码", "受理（派遣）", "按时签收", "按期办结", "评价", "满意/基本满意", "退单", "重开",
               "延期", "超时", "黄牌督办", "红牌督办", *(f"{r.name}(%)" for r in RATES)]  # fmt: skip

    def cells(name: str, code: str, c: Counters) -> list[Cell]:
        counts = [c.dispatched, c.sign_met, c.handle_met, c.rated, c.satisfied, c.returned, c.reopened, c.extended]
        return [name, code, *counts, c.late, c.yellow, c.red, *(pct(r.of(c)) for r in RATES)]

    body = [cells(r.name, r.code, r.counters) for r in report.rows]
    body.append(cells("合计", "", report.overall))
    return [Table(f"{month}考核表", headers, body), definitions_table()]
