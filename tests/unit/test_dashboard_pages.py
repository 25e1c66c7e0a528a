"""The 概览 page and its files: the page shows the figures of the read model, every list downloads as CSV
(read back with the csv module) and XLSX (read back with openpyxl) holding the same numbers, and the
monthly 考核表 has a row per department and the definitions on its second sheet."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from cases.access import EVERYONE
from cases.db import session_scope
from cases.models import utcnow
from cases.reference import reference_names
from routing.dashboard.read import dashboard
from routing.dashboard.refresh import refresh
from tests.console_helpers import login, make_user
from tests.dashboard_fixtures import make_history


@pytest.fixture
def supervisor(client: TestClient) -> TestClient:
    with session_scope() as s:
        make_history(s, cases=50, days=20, start=utcnow() - timedelta(days=20))
    with session_scope() as s:
        refresh(s, grace_seconds=0)
    make_user("zhang", "supervisor")
    login(client, "zhang")
    return client


def test_the_page_shows_the_read_models_figures(supervisor: TestClient) -> None:
    r = supervisor.get("/supervisor/?days=30")
    assert r.status_code == 200
    with session_scope() as s:
        page = dashboard(s, EVERYONE, 30)
    assert f'id="kpi-intake">{sum(n for _, n in page.daily)}<' in r.text
    for row in page.departments[:3]:
        assert row.name in r.text
    assert "响应及时率" in r.text and "分母" in r.text and 'id="def-satisfaction"' in r.text
    assert r.text.count('class="grid-cell"') == len(reference_names().grids)
    assert supervisor.get("/supervisor/?days=5").status_code == 400


def test_every_list_exports_as_csv_and_xlsx_with_the_same_rows(supervisor: TestClient) -> None:
    for table in ("intake", "departments", "streets", "overdue", "supervision"):
        c = supervisor.get(f"/supervisor/export/{table}.csv?days=7")
        assert c.status_code == 200 and c.headers["content-type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(c.content.decode("utf-8-sig"))))
        x = supervisor.get(f"/supervisor/export/{table}.xlsx?days=7")
        assert x.status_code == 200 and "attachment" in x.headers["content-disposition"]
        sheet = load_workbook(io.BytesIO(x.content)).worksheets[0]
        cells = [["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)]
        assert [r[:3] for r in cells] == [r[:3] for r in rows], table
    with session_scope() as s:
        page = dashboard(s, EVERYONE, 7)
    dept = list(
        csv.reader(io.StringIO(supervisor.get("/supervisor/export/departments.csv?days=7").text.lstrip("\ufeff")))
    )
    assert dept[0][:3] == ["承办单位", "代码", "派遣"]
    by_code = {r[1]: r for r in dept[1:-1]}
    for row in page.departments:
        assert int(by_code[row.key][2]) == row.counters.dispatched
    assert dept[-1][0] == "合计" and int(dept[-1][2]) == page.overall.counters.dispatched
    assert supervisor.get("/supervisor/export/nothing.csv").status_code == 404
    assert supervisor.get("/supervisor/export/departments.pdf").status_code == 400


def test_the_monthly_report_has_a_row_per_department_and_the_definitions(supervisor: TestClient) -> None:
    month = utcnow().strftime("%Y-%m")
    r = supervisor.get(f"/supervisor/reports/monthly.xlsx?month={month}")
    assert r.status_code == 200
    book = load_workbook(io.BytesIO(r.content))
    report, definitions = book.worksheets
    rows = list(report.iter_rows(values_only=True))
    assert rows[0][:3] == ("承办单位", "代码", "受理（派遣）")
    active = {code for code, d in reference_names().departments.items() if d.active}
    assert active <= {row[1] for row in rows[1:-1]}
    assert rows[-1][0] == "合计" and rows[-1][2] == sum(row[2] for row in rows[1:-1])
    names = [row[0] for row in definitions.iter_rows(min_row=2, values_only=True)]
    assert names == ["响应及时率", "按期办结率", "满意率", "退单率", "重开率", "延期率"]
    assert supervisor.get("/supervisor/reports/monthly.xlsx?month=2026-13").status_code == 400
