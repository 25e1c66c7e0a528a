"""`hotline cameras add|list|rotate-secret`: the registry of AI street cameras."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from cases.db import session_scope
from cases.queries import local
from intake.camera.registry import CameraError, add_camera, list_cameras, parse_event_map, rotate_secret

app = typer.Typer(
    help="AI street cameras: register them, list them, rotate their signing secrets.", no_args_is_help=True
)
console = Console()


@app.command("add")
def add(
    camera_id: Annotated[str, typer.Argument(help="The id the camera sends in X-Camera-Id.")],
    name: Annotated[str, typer.Option(help="Where it is, for people (东门菜市场东口).")] = "",
    lat: Annotated[float | None, typer.Option(help="Latitude (WGS-84).")] = None,
    lon: Annotated[float | None, typer.Option(help="Longitude (WGS-84).")] = None,
    address: Annotated[str | None, typer.Option(help="Address text.")] = None,
    grid: Annotated[str | None, typer.Option(help="15-digit grid code the camera watches.")] = None,
    map_: Annotated[
        list[str] | None,
        typer.Option("--map", help="vendor_event_type=taxonomy_code, repeatable (garbage_exposed=06010)."),
    ] = None,
    min_confidence: Annotated[float, typer.Option(help="Alerts below this confidence are ignored.")] = 0.5,
    auto_dispatch: Annotated[
        bool, typer.Option("--auto-dispatch/--agent", help="Dispatch its cases at once, or wait for an agent.")
    ] = False,
) -> None:
    """Register a camera and print its signing secret (once: store it in the camera)."""
    try:
        with session_scope() as s:
            cam = add_camera(
                s,
                camera_id,
                name=name,
                lat=lat,
                lon=lon,
                address=address,
                grid_code=grid,
                event_map=parse_event_map(map_ or []),
                min_confidence=min_confidence,
                auto_dispatch=auto_dispatch,
            )
    except CameraError as exc:
        console.print(f"[red]{exc}")
        raise typer.Exit(1) from None
    console.print(f"camera {cam.id} registered. Secret (put it in the camera, it is not shown again):")
    print(cam.secret)


@app.command("list")
def list_() -> None:
    """Show the registered cameras (without secrets)."""
    table = Table("id", "name", "grid", "event map", "min conf", "dispatch", "active", "last alert")
    with session_scope() as s:
        for c in list_cameras(s):
            table.add_row(
                c.id,
                c.name,
                c.grid_code or "",
                ", ".join(f"{k}→{v}" for k, v in c.event_map.items()),
                f"{c.min_confidence:.2f}",
                "auto" if c.auto_dispatch else "agent",
                "yes" if c.active else "no",
                local(c.last_alert_at),
            )
    console.print(table)


@app.command("rotate-secret")
def rotate(camera_id: Annotated[str, typer.Argument(help="Camera id.")]) -> None:
    """Replace a camera's secret; the old one stops working at once."""
    try:
        with session_scope() as s:
            secret = rotate_secret(s, camera_id)
    except CameraError as exc:
        console.print(f"[red]{exc}")
        raise typer.Exit(1) from None
    console.print(f"new secret for {camera_id} (the old one no longer works):")
    print(secret)
