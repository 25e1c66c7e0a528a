"""The server process's knobs, and the list of every package's settings."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, SecretStr

import agent_ui.settings as console
import cases.settings as kernel
import classifiers.settings as classifier
import intake.camera.settings as camera
import intake.settings as intake
import intake.telephony.settings as telephony
import intake.web.settings as web
import ivr_flows.settings as flows
import routing.settings as routing
from cases import providers
from cases.settings import HotlineSettings


class ServerSettings(HotlineSettings):
    """How `hotline serve` binds and starts, and how loud it logs."""

    host: str = Field(default="127.0.0.1", description="Bind address of `hotline serve`.")
    port: int = Field(default=8000, description="Port of `hotline serve`.")
    web_workers: int = Field(default=1, description="uvicorn worker processes for `hotline serve`.")
    migrate_on_start: bool = Field(
        default=True, description="Upgrade the schema and seed reference data when the web app starts."
    )
    warm_up_on_start: bool = Field(
        default=True,
        description="Load the category model, call flows and speech hints when the web app starts, before "
        "it accepts requests (not during a caller's first sentence).",
    )
    log_level: str = Field(default="INFO", description="Log level.")
    log_format: Literal["console", "json"] = Field(
        default="console",
        description="'console' (one readable line per record) or 'json' (one JSON object per line, with the "
        "request, report and case ids it is about). `hotline serve` and `hotline worker` default to 'json' "
        "when it is not set; the demo and other commands to 'console'.",
    )
    metrics_token: SecretStr | None = Field(
        default=None,
        description="Bearer token that lets a scraper read /metrics from another machine (loopback callers "
        "that did not come through a proxy need none).",
    )
    shutdown_grace_seconds: int = Field(
        default=30,
        description="On SIGTERM, how long `hotline serve` lets requests in flight finish before closing them.",
    )


SETTINGS = providers.Key("server settings", ServerSettings)


def server_settings() -> ServerSettings:
    return providers.get(SETTINGS)


# Every package's settings, for the composition root to build at start and for the README's table test.
# A package that adds a settings class adds its key here.
PACKAGE_SETTINGS: tuple[providers.Key[Any], ...] = (
    kernel.SETTINGS,
    classifier.SETTINGS,
    flows.SETTINGS,
    intake.SETTINGS,
    intake.STORAGE_SETTINGS,
    web.SETTINGS,
    camera.SETTINGS,
    telephony.SETTINGS,
    routing.SETTINGS,
    routing.ESCALATION_SETTINGS,
    routing.HOTSPOT_SETTINGS,
    console.SETTINGS,
    SETTINGS,
)


def _settings_class(key: providers.Key[Any]) -> type[HotlineSettings]:
    cls = key.build
    assert isinstance(cls, type) and issubclass(cls, HotlineSettings), key.name
    return cls


def settings_classes() -> list[type[HotlineSettings]]:
    return [_settings_class(key) for key in PACKAGE_SETTINGS]


def build_settings() -> None:
    """Read every package's settings that this process has not read yet, now, so that a malformed
    variable stops it at start rather than at the first call, text or report that needs it."""
    for key in PACKAGE_SETTINGS:
        providers.get(key)


def reset_settings() -> None:
    """Forget every package's settings; the next read takes the environment as it is then (tests)."""
    providers.reset(*PACKAGE_SETTINGS)
