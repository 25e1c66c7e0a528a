"""Every supervisor's list as a file: CSV (UTF-8 with a byte-order mark, so Excel on a Chinese Windows
opens it as UTF-8 rather than GBK) or XLSX (openpyxl). One `Table` shape for both, so a page and its
export are built from the same rows."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from urllib.parse import quote

from fastapi import HTTPException
from fastapi.responses import Response
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

Cell = str | int | float | date | datetime | None


class ExportFormat(StrEnum):
    CSV = "csv"
    XLSX = "xlsx"


XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MEDIA_TYPES = {ExportFormat.CSV: "text/csv; charset=utf-8", ExportFormat.XLSX: XLSX_TYPE}


@dataclass(frozen=True)
class Table:
    """One sheet: a title (the sheet's name), the column headings and the rows."""

    title: str
    headers: Sequence[str]
    rows: Sequence[Sequence[Cell]]


def export_format(value: str) -> ExportFormat:
    """The `format` query parameter; anything else is a 400 with a Chinese message."""
    try:
        return ExportFormat(value.lower())
    except ValueError:
        raise HTTPException(400, "导出格式只能是 csv 或 xlsx") from None


def _text(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _safe(value: str) -> str:
    # A cell starting with = + - @ is a formula to a spreadsheet: a resident's text must not run as one.
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value


def to_csv(table: Table) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(table.headers)
    for row in table.rows:
        writer.writerow([v if isinstance(v, int | float) else _safe(_text(v)) for v in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _sheet_name(title: str) -> str:
    bad = set("[]:*?/\\")
    return "".join(ch for ch in title if ch not in bad)[:31] or "Sheet"


def to_xlsx(tables: Sequence[Table]) -> bytes:
    """One workbook, a sheet per table, headings bold, columns wide enough for their Chinese headings."""
    wb = Workbook()
    wb.remove(wb.active)
    for table in tables:
        ws = wb.create_sheet(_sheet_name(table.title))
        ws.append(list(table.headers))
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for row in table.rows:
            values = []
            for v in row:
                if isinstance(v, datetime):
                    v = v.replace(tzinfo=None)  # XLSX has no time zones: local times are given
                values.append(_safe(v) if isinstance(v, str) else v)
            ws.append(values)
        for i, heading in enumerate(table.headers, start=1):
            width = max([len(str(heading)) * 2 + 2] + [len(_text(r[i - 1])) + 2 for r in table.rows[:200]])
            ws.column_dimensions[get_column_letter(i)].width = min(width, 60)
        ws.freeze_panes = "A2"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def export_response(fmt: ExportFormat, filename: str, tables: Sequence[Table]) -> Response:
    """The download: CSV holds the first table, XLSX every table as a sheet. `filename` without suffix,
    may be Chinese (RFC 5987 filename*)."""
    body = to_csv(tables[0]) if fmt is ExportFormat.CSV else to_xlsx(tables)
    name = f"{filename}.{fmt.value}"
    ascii_name = name.encode("ascii", "replace").decode().replace("?", "_")
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"
    return Response(body, media_type=MEDIA_TYPES[fmt], headers={"Content-Disposition": disposition})
