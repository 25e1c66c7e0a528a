"""Grid locator: which 15-digit grid a report is about, and how sure we are.

Evidence in order of strength: a GPS point inside a grid polygon, place names in the text (gazetteer),
the registered camera's grid, the reporter's recent reports. A text that only names a community yields
that community, never a grid guessed inside it."""

from __future__ import annotations

import csv
import functools
import json
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shapely import STRtree
from shapely.geometry import Point, shape
from shapely.geometry.base import BaseGeometry
from sqlmodel import Session, select

from cases.models import Grid

GAZETTEER = Path(__file__).parents[1] / "data" / "gazetteer.csv"

# A resident who names a place is usually right about it but may be describing the way there.
CONF_GPS = 0.95
CONF_TEXT = 0.85
CONF_TEXT_AMBIGUOUS = 0.55
CONF_CAMERA = 0.9
CONF_HISTORY = 0.4
CONF_COMMUNITY = 0.5

# Spoken forms shorten the generic tail of a place name: 东门菜市场 → 东门菜场, 青砖湖社区 → 青砖湖居委会.
_SPOKEN_TAILS: dict[str, tuple[str, ...]] = {
    "菜市场": ("菜场", "市场"),
    "农贸市场": ("菜场", "市场", "菜市场"),
    "社区": ("居委会", "社区居委会"),
    "小区": ("小区里",),
    "公园": ("公园里",),
    "大道": ("大路",),
}

RecentGrids = Callable[[str], Sequence[str]]


@dataclass(frozen=True)
class Place:
    name: str
    grid_code: str | None
    community_code: str | None
    kind: str


@dataclass(frozen=True)
class GridResult:
    grid_code: str | None
    confidence: float
    source: str  # gps | text | camera | history | community | none
    community_code: str | None = None


NOWHERE = GridResult(None, 0.0, "none")


def spoken_variants(name: str) -> set[str]:
    out = {name}
    for tail, alts in _SPOKEN_TAILS.items():
        if name.endswith(tail) and len(name) > len(tail) + 1:
            stem = name[: -len(tail)]
            out.update(stem + a for a in alts)
    return out


@functools.lru_cache(maxsize=256)
def _pair_slices(n_chars: int) -> tuple[slice, ...]:
    return tuple(slice(i, i + 2) for i in range(n_chars - 1))


def _pairs(text: str) -> set[str]:
    """Every two-character window of `text`, cut in C by map over cached slices (this runs for every
    report); an essay gets its slices made on the spot instead of a cache entry."""
    n = len(text)
    cuts = _pair_slices(n) if n <= 1024 else [slice(i, i + 2) for i in range(n - 1)]
    return set(map(text.__getitem__, cuts))


class Gazetteer:
    """Place names (and their spoken variants) → grid or community. Longest name wins, so 东门菜市场 is
    not read as 东门路's 东门."""

    def __init__(self, places: Iterable[Place]) -> None:
        index: dict[str, Place] = {}
        for p in places:
            for variant in spoken_variants(p.name):
                # A grid-level entry beats a community-level one for the same spelling.
                if variant not in index or (index[variant].grid_code is None and p.grid_code):
                    index[variant] = Place(variant, p.grid_code, p.community_code, p.kind)
        self._names = sorted(index.values(), key=lambda p: (-len(p.name), p.name))
        # Names by their first two characters: a message is checked against the few names whose start
        # occurs in it, not against every name of the city.
        self._by_prefix: dict[str, list[Place]] = {}
        self._short: list[Place] = []
        for p in self._names:
            if len(p.name) >= 2:
                self._by_prefix.setdefault(p.name[:2], []).append(p)
            else:
                self._short.append(p)

    def __len__(self) -> int:
        return len(self._names)

    def find(self, text: str) -> list[Place]:
        """Places named in `text`, longest first, each span used once."""
        groups = filter(None, map(self._by_prefix.get, _pairs(text)))
        candidates = [p for group in groups for p in group] + self._short
        candidates.sort(key=lambda p: (-len(p.name), p.name))  # same answer whatever the set order
        found: list[Place] = []
        taken: list[tuple[int, int]] = []
        for p in candidates:
            start = text.find(p.name)
            while start >= 0:
                end = start + len(p.name)
                if not any(s < end and start < e for s, e in taken):
                    taken.append((start, end))
                    found.append(p)
                    break
                start = text.find(p.name, start + 1)
        return found

    def locate(self, text: str) -> GridResult:
        found = self.find(text)
        grids = Counter(p.grid_code for p in found if p.grid_code)
        if grids:
            (best, n), *rest = grids.most_common()
            if not rest:
                return GridResult(best, CONF_TEXT, "text", best[:12])
            # Two grids named ("从东门路到八一路"): the more often named one, but an agent should look.
            conf = CONF_TEXT_AMBIGUOUS if n > rest[0][1] else CONF_TEXT_AMBIGUOUS - 0.15
            return GridResult(best, conf, "text", best[:12])
        communities = {p.community_code for p in found if p.community_code}
        if len(communities) == 1:
            return GridResult(None, CONF_COMMUNITY, "community", communities.pop())
        return NOWHERE


def read_gazetteer(path: Path = GAZETTEER) -> list[Place]:
    if not path.exists():
        return []
    out: list[Place] = []
    with path.open(encoding="utf-8") as f:
        for r in csv.DictReader(f):
            names = [r["name"], *(a for a in (r.get("aliases") or "").split("|") if a)]
            grid = (r.get("grid_code") or "").strip() or None
            community = (r.get("community_code") or "").strip() or (grid[:12] if grid else None)
            out.extend(Place(n.strip(), grid, community, r.get("kind") or "") for n in names if n.strip())
    return out


def places_from_grids(rows: Iterable[dict[str, Any]]) -> list[Place]:
    """Each grid's own place list, plus its community's name (community-level evidence only)."""
    out: list[Place] = []
    for r in rows:
        code = r["code"]
        out.extend(Place(p, code, code[:12], "place") for p in r.get("places") or [])
        if r.get("community"):
            out.append(Place(r["community"], None, code[:12], "community"))
    return out


class GridLayer:
    """Grid polygons with an STRtree, so a point finds its grid without scanning every polygon."""

    def __init__(self, grids: Sequence[tuple[str, BaseGeometry]]) -> None:
        self._codes = [c for c, _ in grids]
        self._geoms = [g for _, g in grids]
        self._tree = STRtree(self._geoms)

    def __len__(self) -> int:
        return len(self._codes)

    def locate(self, lat: float, lon: float) -> str | None:
        pt = Point(lon, lat)  # GeoJSON order
        hits = sorted(int(i) for i in self._tree.query(pt, predicate="intersects"))
        return self._codes[hits[0]] if hits else None


def read_geojson(path: Path) -> list[dict[str, Any]]:
    """Features of a grid layer as Grid-table rows. Properties: grid_code (15 digits) required;
    grid_name, street, community, places ('|'-separated or a list) optional."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    rows: list[dict[str, Any]] = []
    for f in doc.get("features", []):
        props = f.get("properties") or {}
        code = str(props.get("grid_code") or "")
        if len(code) != 15 or not code.isdigit():
            raise ValueError(f"{path}: feature without a 15-digit grid_code: {props!r}")
        places = props.get("places") or []
        if isinstance(places, str):
            places = [p for p in places.split("|") if p]
        rows.append(
            {
                "code": code,
                "name": props.get("grid_name") or code,
                "street_code": code[:9],
                "street": props.get("street") or "",
                "community_code": code[:12],
                "community": props.get("community") or "",
                "places": places,
                "geometry": f.get("geometry"),
            }
        )
    return rows


def import_grid_layer(session: Session, path: Path) -> int:
    """Upsert a city's GeoJSON grid layer into the Grid table. Names and places already in the table
    are kept when the layer does not carry them. The caller commits."""
    rows = read_geojson(path)
    for r in rows:
        grid = session.get(Grid, r["code"])
        if grid is None:
            session.add(Grid(**r))
            continue
        grid.geometry = r["geometry"]
        for key in ("name", "street", "community", "places"):
            if r[key] and r[key] != r["code"]:
                setattr(grid, key, r[key])
        session.add(grid)
    return len(rows)


def grid_rows_from_db(session: Session) -> list[dict[str, Any]]:
    return [g.model_dump() for g in session.exec(select(Grid)).all()]


def grid_rows_from_files(csv_path: Path, geojson_path: Path | None) -> list[dict[str, Any]]:
    shapes: dict[str, Any] = {}
    if geojson_path is not None and geojson_path.exists():
        shapes = {r["code"]: r["geometry"] for r in read_geojson(geojson_path)}
    with csv_path.open(encoding="utf-8") as f:
        return [
            {
                "code": r["grid_code"],
                "community": r["community"],
                "places": [p for p in r["places"].split("|") if p],
                "geometry": shapes.get(r["grid_code"]),
            }
            for r in csv.DictReader(f)
        ]


class GridLocator:
    def __init__(
        self, layer: GridLayer, gazetteer: Gazetteer, community_grids: dict[str, tuple[str, ...]] | None = None
    ) -> None:
        self.layer = layer
        self.gazetteer = gazetteer
        self.community_grids = community_grids or {}

    @classmethod
    def from_rows(cls, rows: Sequence[dict[str, Any]], gazetteer_path: Path = GAZETTEER) -> GridLocator:
        layer = GridLayer([(r["code"], shape(r["geometry"])) for r in rows if r.get("geometry")])
        by_community: dict[str, list[str]] = {}
        for r in rows:
            by_community.setdefault(r["code"][:12], []).append(r["code"])
        community_grids = {c: tuple(sorted(codes)) for c, codes in by_community.items()}
        return cls(layer, Gazetteer([*read_gazetteer(gazetteer_path), *places_from_grids(rows)]), community_grids)

    def candidates(self, text: str, best: GridResult, limit: int = 5) -> list[GridResult]:
        """Grids an agent may choose from for `text`, `best` (what `locate` said) first: every other grid
        a place in the text names, then the grids of a community the text names (the agent asks the
        resident which one; `locate` itself never guesses a grid inside a community)."""
        out = [best] if best.grid_code else []
        seen = {best.grid_code}
        found = self.gazetteer.find(text)
        named = Counter(p.grid_code for p in found if p.grid_code)
        for code, _ in named.most_common():
            if code not in seen:
                seen.add(code)
                out.append(GridResult(code, CONF_TEXT_AMBIGUOUS - 0.15, "text", code[:12]))
        communities = [best.community_code] if best.community_code else []
        communities += [p.community_code for p in found if p.community_code]
        for community in dict.fromkeys(communities):
            for code in self.community_grids.get(community or "", ()):
                if code not in seen:
                    seen.add(code)
                    out.append(GridResult(code, CONF_COMMUNITY / 2, "community", community))
        return out[:limit]

    def locate(
        self,
        text: str,
        lat: float | None = None,
        lon: float | None = None,
        camera_grid_code: str | None = None,
        phone: str | None = None,
        recent_grids: RecentGrids | None = None,
    ) -> GridResult:
        if lat is not None and lon is not None and (code := self.layer.locate(lat, lon)):
            return GridResult(code, CONF_GPS, "gps", code[:12])
        by_text = self.gazetteer.locate(text)
        if by_text.grid_code:
            return by_text
        if camera_grid_code:
            return GridResult(camera_grid_code, CONF_CAMERA, "camera", camera_grid_code[:12])
        if phone and recent_grids is not None:
            recent = list(recent_grids(phone))
            if recent:
                code, n = Counter(recent).most_common(1)[0]
                # A reporter who always reports the same grid probably lives there; one report is a hint.
                conf = CONF_HISTORY if n >= 2 else CONF_HISTORY / 2
                return GridResult(code, conf, "history", code[:12])
        return by_text  # a community, or nothing
