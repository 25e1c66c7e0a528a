"""`hotline grids`: the city's grid layer (网格)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Column, Table
from sqlmodel import col, select

from cases.db import session_scope
from cases.models import Grid

app = typer.Typer(help="The grid layer: import a city's GeoJSON, list grids.", no_args_is_help=True)
console = Console()


@app.command("import")
def import_layer(geojson: Annotated[Path, typer.Argument(help="The city's grid layer.", exists=True)]) -> None:
    """Load a GeoJSON grid layer (properties: grid_code, grid_name, street, community, places)."""
    from classifiers.serving.grids import import_grid_layer
    from classifiers.serving.registry import reset_classifier, when_running_processes_reload

    started = time.perf_counter()
    with session_scope() as s:
        n = import_grid_layer(s, geojson)
    reset_classifier()
    console.print(
        f"[green]{n} grids imported in {time.perf_counter() - started:.2f}s (running servers pick them up "
        f"{when_running_processes_reload()})"
    )


@app.command("list")
def list_grids() -> None:
    """Every grid with its street, community and place names."""
    with session_scope() as s:
        grids = s.exec(select(Grid).order_by(col(Grid.code))).all()
        table = Table(Column("grid", no_wrap=True, min_width=15), "name", "street", "community", "places", "shape")
        for g in grids:
            table.add_row(g.code, g.name, g.street, g.community, "、".join(g.places[:4]), "yes" if g.geometry else "-")
    console.print(table if grids else "no grids: run `hotline db upgrade` or `hotline grids import FILE`")
