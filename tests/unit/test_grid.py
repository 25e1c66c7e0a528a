"""Grid locator: GPS, place names (also spoken forms), community only, camera, reporter history."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlmodel import select

from cases.models import Grid
from classifiers.serving.grids import GridLocator, grid_rows_from_files, import_grid_layer, spoken_variants

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "cases" / "data"


@pytest.fixture(scope="module")
def locator() -> GridLocator:
    return GridLocator.from_rows(grid_rows_from_files(DATA / "grids.csv", DATA / "grids.geojson"))


def test_gps_point_in_polygon_wins(locator: GridLocator) -> None:
    g = locator.locate("八一路上有个坑", lat=30.403, lon=114.843)
    assert (g.grid_code, g.source) == ("421102001001001", "gps") and g.confidence >= 0.9
    assert len(g.grid_code) == 15


def test_gps_outside_the_layer_falls_back_to_the_text(locator: GridLocator) -> None:
    g = locator.locate("八一路上有个坑", lat=0.0, lon=0.0)
    assert (g.grid_code, g.source) == ("421102001002003", "text")


@pytest.mark.parametrize(
    ("text", "grid"),
    [
        ("东门菜场那边有人摆摊", "421102001001001"),
        ("就是东门菜市场门口", "421102001001001"),
        ("黄冈中学北门那里天天堵", "421102002003002"),
        ("万达广场旁边的垃圾桶满了", "421102003001003"),
        ("禹王路上井盖没了", "421102005001001"),
    ],
)
def test_place_names_in_text(locator: GridLocator, text: str, grid: str) -> None:
    g = locator.locate(text)
    assert (g.grid_code, g.source) == (grid, "text")


def test_community_only_gives_the_community_never_a_grid(locator: GridLocator) -> None:
    g = locator.locate("青砖湖社区里面垃圾好几天没收了")
    assert g.grid_code is None and g.source == "community" and g.community_code == "421102001002"
    assert 0 < g.confidence < locator.locate("八一路上有个坑").confidence


def test_camera_then_history(locator: GridLocator) -> None:
    g = locator.locate("检测到暴露垃圾", camera_grid_code="421102003001002")
    assert (g.grid_code, g.source) == ("421102003001002", "camera")
    recent = {"13800000000": ["421102004001001", "421102004001001"]}
    g = locator.locate("我们楼下又有垃圾", phone="13800000000", recent_grids=lambda p: recent.get(p, []))
    assert (g.grid_code, g.source) == ("421102004001001", "history") and g.confidence < 0.5
    assert locator.locate("我们楼下又有垃圾", phone="139", recent_grids=lambda p: []).source == "none"


def test_spoken_variants() -> None:
    assert {"东门菜场", "东门市场"} <= spoken_variants("东门菜市场")
    assert "青砖湖居委会" in spoken_variants("青砖湖社区")


def test_import_grid_layer(env: Path) -> None:
    from cases.db import session_scope

    layer = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {
                    "grid_code": "421102009009001",
                    "grid_name": "新区第1网格",
                    "community": "新区社区",
                    "places": "新区路|新区菜场",
                },
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [[[115.0, 31.0], [115.01, 31.0], [115.01, 31.01], [115.0, 31.01], [115.0, 31.0]]],
                },
            }
        ],
    }
    path = env / "layer.geojson"
    path.write_text(json.dumps(layer, ensure_ascii=False), encoding="utf-8")
    with session_scope() as s:
        assert import_grid_layer(s, path) == 1
        s.commit()
        row = s.get(Grid, "421102009009001")
        assert row is not None and row.community_code == "421102009009" and row.places == ["新区路", "新区菜场"]
        assert len(s.exec(select(Grid)).all()) == 27
    from classifiers.base import ReportFacts
    from classifiers.serving.registry import get_classifier

    c = get_classifier().classify(ReportFacts(text="路边有垃圾", lat=31.005, lon=115.005))
    assert (c.grid_code, c.grid_source) == ("421102009009001", "gps")
    assert get_classifier().classify(ReportFacts(text="新区菜场门口垃圾")).grid_code == "421102009009001"


def test_import_refuses_a_feature_without_a_grid_code(tmp_path: Path, env: Path) -> None:
    from cases.db import session_scope

    path = tmp_path / "bad.geojson"
    path.write_text(json.dumps({"features": [{"properties": {"grid_code": "12"}, "geometry": None}]}))
    with session_scope() as s, pytest.raises(ValueError, match="15-digit"):
        import_grid_layer(s, path)
