"""GeoReport v2 output: the same list of flat dicts as JSON or XML, and the spec's error format."""

from __future__ import annotations

import json
from typing import Any
from xml.etree import ElementTree as ET

from fastapi.responses import Response

from cases.sanitize import clean_text

FORMATS = ("json", "xml")


def _xml(root: str, item: str, rows: list[dict[str, Any]]) -> bytes:
    el = ET.Element(root)
    for row in rows:
        child = ET.SubElement(el, item)
        _fill(child, row)
    data: bytes = ET.tostring(el, encoding="utf-8", xml_declaration=True)
    return data


def _fill(parent: ET.Element, row: dict[str, Any]) -> None:
    for key, value in row.items():
        sub = ET.SubElement(parent, key)
        if isinstance(value, list):
            # attributes → <attributes><attribute>…</attribute></attributes>; values → <values><value>…
            singular = key[:-1] if key.endswith("s") else key
            for v in value:
                if isinstance(v, dict):
                    _fill(ET.SubElement(sub, singular), v)
                else:
                    ET.SubElement(sub, singular).text = _xml_text(v)
        elif isinstance(value, bool):
            sub.text = "true" if value else "false"
        elif value is not None:
            sub.text = _xml_text(value)


def _xml_text(value: Any) -> str:
    # ElementTree writes control characters raw, which makes the whole document unparseable; rows
    # stored before intake cleaned text may hold them, so they are dropped here, whatever was stored.
    return clean_text(str(value))


def render(fmt: str, root: str, item: str, rows: list[dict[str, Any]], status: int = 200) -> Response:
    if fmt == "xml":
        return Response(_xml(root, item, rows), status_code=status, media_type="text/xml; charset=utf-8")
    return Response(
        json.dumps(rows, ensure_ascii=False), status_code=status, media_type="application/json; charset=utf-8"
    )


def render_one(fmt: str, root: str, row: dict[str, Any]) -> Response:
    """A single object (service definition): JSON object, XML root element."""
    if fmt == "xml":
        el = ET.Element(root)
        _fill(el, row)
        return Response(ET.tostring(el, encoding="utf-8", xml_declaration=True), media_type="text/xml; charset=utf-8")
    return Response(json.dumps(row, ensure_ascii=False), media_type="application/json; charset=utf-8")


def error(fmt: str, status: int, description: str) -> Response:
    """GeoReport v2 errors: a list of {code, description}, with the HTTP status set to the code."""
    return render(
        fmt if fmt in FORMATS else "json",
        "errors",
        "error",
        [{"code": status, "description": description}],
        status=status,
    )
