"""The camera registry: add, list, rotate secrets. Used by `hotline cameras` and by tests."""

from __future__ import annotations

from sqlmodel import Session, col, select

from cases.models import Grid, utcnow
from intake.camera.models import Camera
from intake.camera.signing import new_secret


class CameraError(ValueError):
    pass


def parse_event_map(pairs: list[str]) -> dict[str, str]:
    """["garbage_exposed=06010", "manhole_open=01002"] → {"garbage_exposed": "06010", …}."""
    out: dict[str, str] = {}
    for pair in pairs:
        vendor, sep, code = pair.partition("=")
        if not sep or not vendor.strip() or not code.strip():
            raise CameraError(f"event map entries look like vendor_type=taxonomy_code, not {pair!r}")
        out[vendor.strip()] = code.strip()
    return out


def add_camera(
    session: Session,
    camera_id: str,
    *,
    name: str = "",
    lat: float | None = None,
    lon: float | None = None,
    address: str | None = None,
    grid_code: str | None = None,
    event_map: dict[str, str] | None = None,
    min_confidence: float = 0.5,
    auto_dispatch: bool = False,
    secret: str | None = None,
) -> Camera:
    """Register a camera (the caller commits). Returns it with its secret (shown to the operator once)."""
    if session.get(Camera, camera_id) is not None:
        raise CameraError(f"camera {camera_id!r} already exists")
    if grid_code and session.get(Grid, grid_code) is None:
        raise CameraError(f"unknown grid {grid_code!r}")
    if not 0.0 <= min_confidence <= 1.0:
        raise CameraError("min confidence is between 0 and 1")
    cam = Camera(
        id=camera_id,
        name=name,
        secret=secret or new_secret(),
        lat=lat,
        lon=lon,
        address=address,
        grid_code=grid_code,
        event_map=dict(event_map or {}),
        min_confidence=min_confidence,
        auto_dispatch=auto_dispatch,
    )
    session.add(cam)
    session.flush()
    return cam


def list_cameras(session: Session) -> list[Camera]:
    return list(session.exec(select(Camera).order_by(col(Camera.id))))


def rotate_secret(session: Session, camera_id: str) -> str:
    cam = session.get(Camera, camera_id)
    if cam is None:
        raise CameraError(f"no camera {camera_id!r}")
    cam.secret = new_secret()
    cam.secret_rotated_at = utcnow()
    session.add(cam)
    session.flush()
    return cam.secret
