"""The camera channel's knobs."""

from __future__ import annotations

from pydantic import Field

from cases import providers
from cases.settings import HotlineSettings


class CameraSettings(HotlineSettings):
    """How old a signed alert may be, how large a snapshot."""

    camera_max_skew_seconds: int = Field(
        default=300, description="A camera alert signed longer ago (or further ahead) than this is refused."
    )
    camera_snapshot_max_bytes: int = Field(default=5 * 1024 * 1024, description="Largest camera snapshot.")


SETTINGS = providers.Key("camera settings", CameraSettings)


def camera_settings() -> CameraSettings:
    return providers.get(SETTINGS)
