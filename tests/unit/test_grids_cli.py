"""`hotline grids import` loads a city's own GeoJSON layer; the classifier locates points in it."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from cases.db import session_scope
from cases.models import Grid
from classifiers.base import ReportFacts
from classifiers.serving.registry import get_classifier
from hotline.cli import app as cli


def test_import_a_new_grid_and_locate_a_point_in_it(env: Path) -> None:
    square = [[120.0, 30.0], [120.01, 30.0], [120.01, 30.01], [120.0, 30.01], [120.0, 30.0]]
    layer = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {
                    "grid_code": "330102001001001",
                    "grid_name": "清波社区第1网格",
                    "street": "清波街道",
                    "community": "清波社区",
                },
                "geometry": {"type": "Polygon", "coordinates": [square]},
            }
        ],
    }
    path = env / "layer.geojson"
    path.write_text(json.dumps(layer, ensure_ascii=False), encoding="utf-8")
    out = CliRunner().invoke(cli, ["grids", "import", str(path)])
    assert out.exit_code == 0, out.output
    with session_scope() as s:
        grid = s.get(Grid, "330102001001001")
        assert grid is not None and grid.community == "清波社区" and grid.geometry is not None
    c = get_classifier().classify(ReportFacts(text="这里路灯不亮", lat=30.005, lon=120.005))
    assert (c.grid_code, c.grid_source) == ("330102001001001", "gps")
    listed = CliRunner().invoke(cli, ["grids", "list"])
    assert "330102001001001" in listed.output
