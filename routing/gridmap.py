"""The grid layer as the case page draws it: each grid's outline, a point to put its name on, and the
grids that touch it. Built once per process from Grid.geometry (GeoJSON) and rebuilt when the layer
changes (the one refresh policy, `cases.providers.Refreshing`, on the reference-data interval), so a
page asks for neighbours without reading every polygon."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from shapely import STRtree
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, select

from cases import providers
from cases.db import session_scope
from cases.models import Grid
from cases.settings import kernel_settings

Ring = tuple[tuple[float, float], ...]  # (lon, lat) points


@dataclass(frozen=True)
class GridOutline:
    code: str
    name: str
    rings: tuple[Ring, ...]  # exterior rings of the grid's polygons
    label: tuple[float, float]  # (lon, lat) inside the grid


@dataclass(frozen=True)
class GridMapLayer:
    outlines: Mapping[str, GridOutline]
    neighbours: Mapping[str, tuple[str, ...]]

    def around(self, code: str | None) -> tuple[GridOutline | None, list[GridOutline]]:
        """The grid and the grids touching it (by name), or (None, []) for a grid without a shape."""
        target = self.outlines.get(code or "")
        if target is None:
            return None, []
        return target, [self.outlines[c] for c in self.neighbours.get(target.code, ())]


def _rings(geom: BaseGeometry) -> tuple[Ring, ...]:
    polygons = getattr(geom, "geoms", [geom])
    return tuple(
        tuple((float(x), float(y)) for x, y, *_ in poly.exterior.coords)
        for poly in polygons
        if hasattr(poly, "exterior")
    )


def build_layer(rows: Sequence[tuple[str, str, dict[str, Any] | None]]) -> GridMapLayer:
    """(code, name, GeoJSON geometry) rows → outlines and touching neighbours (sorted by name)."""
    shapes: list[tuple[str, BaseGeometry]] = []
    outlines: dict[str, GridOutline] = {}
    for code, name, geometry in rows:
        if not geometry:
            continue
        try:
            geom = shape(geometry)
        except (ValueError, TypeError, AttributeError, KeyError):
            continue  # a broken shape draws no map; the page still shows the grid's name
        if geom.is_empty:
            continue
        point = geom.representative_point()
        outlines[code] = GridOutline(code, name, _rings(geom), (point.x, point.y))
        shapes.append((code, geom))
    tree = STRtree([g for _, g in shapes])
    neighbours: dict[str, tuple[str, ...]] = {}
    for code, geom in shapes:
        near = (shapes[int(i)][0] for i in tree.query(geom, predicate="intersects"))
        found = [c for c in near if c != code]
        neighbours[code] = tuple(sorted(found, key=lambda c: (outlines[c].name, c)))
    return GridMapLayer(outlines, neighbours)


def _rows(session: Session) -> list[tuple[str, str, dict[str, Any] | None]]:
    found = session.exec(select(Grid.code, Grid.name, Grid.geometry).order_by(col(Grid.code))).all()
    return [(c, n, dict(g) if g else None) for c, n, g in found]


def _build() -> GridMapLayer:
    with session_scope() as s:
        return build_layer(_rows(s))


def _digest() -> str | None:
    try:
        with session_scope() as s:
            return hashlib.sha256(repr(_rows(s)).encode()).hexdigest()
    except SQLAlchemyError:
        return None


def _refreshing() -> providers.Refreshing[GridMapLayer]:
    return providers.Refreshing("grid map", _build, _digest, lambda: kernel_settings().reference_refresh_seconds)


LAYER = providers.Key("grid map layer", _refreshing)


def grid_map_layer() -> GridMapLayer:
    return providers.get(LAYER).get()
