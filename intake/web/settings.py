"""The H5 web form's and track page's knobs."""

from __future__ import annotations

from pydantic import Field

from cases import providers
from cases.settings import HotlineSettings


class WebFormSettings(HotlineSettings):
    """CSRF signing, per-IP and per-phone limits, form age, track-page lookups."""

    secret_key: str | None = Field(
        default=None,
        description="Signs the web form's CSRF tokens. Set the same value on every web node; "
        "unset: a random key per process (fine for one node, forms break across restarts).",
    )
    web_rate_ip_per_hour: int = Field(default=20, description="Web-form reports accepted per IP per hour.")
    web_rate_phone_per_day: int = Field(default=10, description="Web-form reports accepted per phone per day.")
    web_form_max_age_seconds: int = Field(
        default=4 * 3600, description="A web form (its CSRF token) older than this must be reloaded."
    )
    track_attempts_per_case_per_hour: int = Field(
        default=10, description="Track-page lookups by case number + phone for one case per hour (then refused)."
    )


SETTINGS = providers.Key("web form settings", WebFormSettings)


def web_form_settings() -> WebFormSettings:
    return providers.get(SETTINGS)
