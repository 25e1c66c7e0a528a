"""Where the call flows and their recorded prompts are."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from cases import providers
from cases.settings import HotlineSettings


class FlowSettings(HotlineSettings):
    """The call-flow folder and the base URL of recorded prompts."""

    ivr_flows_dir: Path | None = Field(default=None, description="Call-flow YAML folder. Unset: ivr_flows/flows.")
    ivr_recordings_base_url: str | None = Field(
        default=None, description="Recorded prompts: a prompt with `audio:` is played from this base URL."
    )


SETTINGS = providers.Key("call-flow settings", FlowSettings)


def flow_settings() -> FlowSettings:
    return providers.get(SETTINGS)
