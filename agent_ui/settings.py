"""The console's knobs: sessions, sign-in lock-out, queue claims."""

from __future__ import annotations

from pydantic import Field

from cases import providers
from cases.settings import HotlineSettings


class ConsoleSettings(HotlineSettings):
    """People's sessions and the workbench."""

    session_idle_minutes: int = Field(default=30, description="A console session unused this long ends.")
    session_max_hours: int = Field(default=12, description="A console session ends this long after sign-in.")
    login_max_failures: int = Field(default=5, description="Wrong passwords in a row before the account locks.")
    login_lockout_minutes: int = Field(default=15, description="How long a locked account stays locked.")
    claim_seconds: int = Field(
        default=300, description="An agent's claim on a queue item they opened lasts this long unless renewed."
    )
    queue_refresh_seconds: int = Field(default=15, description="The queue page refreshes its rows this often.")


SETTINGS = providers.Key("console settings", ConsoleSettings)


def console_settings() -> ConsoleSettings:
    return providers.get(SETTINGS)
