"""The categories a report can get: matter codes (事件) of the national taxonomy plus the local bucket
for matters the 12319 line does not handle. Data, not code: a city edits the file or the Category table
(rename, disable, add a local subclass) and the classifier follows."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from cases.models import Category

MATTER = "事件"
NON_CITY_CODE = "99000"
NON_CITY = {
    "kind": MATTER,
    "code": NON_CITY_CODE,
    "name": "非城管事项",
    "major_code": "99",
    "major_name": "非城管事项",
    "parent_code": None,
    "active": True,
    "standard": "local",
}


def load_categories(path: Path) -> list[dict[str, Any]]:
    """Matter categories of a taxonomy CSV (columns kind, full_code, minor_name, major_code, major_name,
    optional standard, parent_code, active) as Category-table rows, plus the non-city bucket.

    Components (部件) are left out: residents report matters, and a component shares its code with the
    matter "<component>异常", so mixing them would make codes ambiguous."""
    rows: list[dict[str, Any]] = []
    with path.open(encoding="utf-8") as f:
        for r in csv.DictReader(f):
            if r.get("kind", MATTER) != MATTER:
                continue
            rows.append(
                {
                    "kind": MATTER,
                    "code": r["full_code"],
                    "name": r["minor_name"],
                    "major_code": r.get("major_code", ""),
                    "major_name": r.get("major_name", ""),
                    "parent_code": r.get("parent_code") or None,
                    "active": (r.get("active") or "true").strip().lower() not in {"false", "0", "no"},
                    "standard": r.get("standard", ""),
                }
            )
    if not any(r["code"] == NON_CITY_CODE for r in rows):
        rows.append(dict(NON_CITY))
    return rows


def categories_from_db(session: Session) -> list[dict[str, Any]]:
    rows = session.exec(select(Category).where(Category.kind == MATTER)).all()
    return [r.model_dump() for r in rows]


def merge(file_rows: list[dict[str, Any]], db_rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """By code; the database wins because that is where a city's edits land."""
    out = {r["code"]: r for r in file_rows}
    out.update({r["code"]: r for r in db_rows})
    return out


def disabled_codes(categories: dict[str, dict[str, Any]]) -> set[str]:
    """Codes a city switched off. Labels the taxonomy does not know (a model trained on other data) are
    not disabled: only an explicit `active = false` removes a category."""
    return {code for code, r in categories.items() if not r.get("active", True)}
