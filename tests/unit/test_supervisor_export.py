"""The export helper: what a supervisor downloads reads back as the same rows, in CSV and in XLSX."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime

import pytest
from fastapi import HTTPException
from openpyxl import load_workbook

from agent_ui.supervisor.export import ExportFormat, Table, export_format, export_response, to_csv, to_xlsx

TABLE = Table(
    title="按部门三率",
    headers=["部门", "派遣数", "满意率", "日期"],
    rows=[["区环境卫生管理处", 12, 0.75, date(2026, 12, 1)], ['=HYPERLINK("x")', 0, None, None]],
)


def test_csv_reads_back_with_a_bom_and_formulas_defused() -> None:
    raw = to_csv(TABLE)
    assert raw.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0] == ["部门", "派遣数", "满意率", "日期"]
    assert rows[1] == ["区环境卫生管理处", "12", "0.75", "2026-12-01"]
    assert rows[2][0] == '\'=HYPERLINK("x")'


def test_xlsx_reads_back_with_openpyxl() -> None:
    second = Table("督办", ["案件", "时间"], [["C1", datetime(2026, 12, 1, 9, 30)]])
    wb = load_workbook(io.BytesIO(to_xlsx([TABLE, second])))
    assert wb.sheetnames == ["按部门三率", "督办"]
    ws = wb["按部门三率"]
    assert [c.value for c in ws[1]] == ["部门", "派遣数", "满意率", "日期"]
    assert [c.value for c in ws[2]][:3] == ["区环境卫生管理处", 12, 0.75]
    assert ws["A3"].value == '\'=HYPERLINK("x")'
    assert wb["督办"]["B2"].value == datetime(2026, 12, 1, 9, 30)


def test_response_names_the_file_in_chinese_and_refuses_other_formats() -> None:
    resp = export_response(ExportFormat.XLSX, "三率", [TABLE])
    assert "filename*=UTF-8''%E4%B8%89%E7%8E%87.xlsx" in resp.headers["content-disposition"]
    with pytest.raises(HTTPException) as err:
        export_format("pdf")
    assert err.value.status_code == 400
