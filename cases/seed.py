"""Reference data from files into the tables: taxonomy, departments, grids. Upserts, so re-running
after a city edits a file updates names without touching cases."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import yaml
from sqlmodel import Session

from cases.models import Category, Department, Grid
from cases.settings import kernel_settings

NON_CITY_CODE = "99000"


def _upsert(session: Session, model: Any, key: tuple[Any, ...] | Any, values: dict[str, Any]) -> None:
    row = session.get(model, key)
    if row is None:
        session.add(model(**values))
    else:
        for k, v in values.items():
            setattr(row, k, v)
        session.add(row)


def seed_categories(session: Session, path: Path) -> int:
    n = 0
    with path.open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            _upsert(
                session,
                Category,
                (row["kind"], row["full_code"]),
                {
                    "kind": row["kind"],
                    "code": row["full_code"],
                    "name": row["minor_name"],
                    "major_code": row["major_code"],
                    "major_name": row["major_name"],
                    "standard": row.get("standard", ""),
                },
            )
            n += 1
    # Reports the 12319 line does not handle; the router transfers them.
    _upsert(
        session,
        Category,
        ("事件", NON_CITY_CODE),
        {
            "kind": "事件",
            "code": NON_CITY_CODE,
            "name": "非城管事项",
            "major_code": "99",
            "major_name": "非城管事项",
            "standard": "local",
        },
    )
    return n + 1


def seed_departments(session: Session, path: Path) -> int:
    with path.open(encoding="utf-8") as f:
        rows: list[dict[str, Any]] = yaml.safe_load(f) or []
    for r in rows:
        _upsert(session, Department, r["code"], {"code": r["code"], "name": r["name"], "phone": r.get("phone")})
    return len(rows)


def seed_grids(session: Session, csv_path: Path, geojson_path: Path | None = None) -> int:
    shapes: dict[str, dict[str, Any]] = {}
    if geojson_path and geojson_path.exists():
        doc = json.loads(geojson_path.read_text(encoding="utf-8"))
        shapes = {f["properties"]["grid_code"]: f["geometry"] for f in doc.get("features", [])}
    n = 0
    with csv_path.open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            code = row["grid_code"]
            _upsert(
                session,
                Grid,
                code,
                {
                    "code": code,
                    "name": row["grid_name"],
                    "street_code": code[:9],
                    "street": row["street"],
                    "community_code": code[:12],
                    "community": row["community"],
                    "places": [p for p in row["places"].split("|") if p],
                    "geometry": shapes.get(code),
                },
            )
            n += 1
    return n


def seed_reference_data(session: Session, data_dir: Path | None = None) -> dict[str, int]:
    d = data_dir or kernel_settings().reference_data_dir
    counts = {
        "categories": seed_categories(session, d / "taxonomy.csv"),
        "departments": seed_departments(session, d / "departments.yaml"),
        "grids": seed_grids(session, d / "grids.csv", d / "grids.geojson"),
    }
    session.flush()
    return counts
