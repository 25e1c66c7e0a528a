"""The base of the URLs this server writes into its answers (case links, Open311 endpoints, media).

`HOTLINE_PUBLIC_BASE_URL` when it is set: behind a reverse proxy the server sees another scheme, host or
port than its clients used, and Twilio signs its webhooks for the public URL. Unset, the address this
request really reached (`request.base_url`): `hotline demo --port 8123` answers with …:8123 links,
not the setting's default. Without a request (a job texting a track link) there is only the setting."""

from __future__ import annotations

from starlette.requests import Request

from intake.settings import intake_settings


def public_base_url_is_set() -> bool:
    """HOTLINE_PUBLIC_BASE_URL (or its .env line) was given, rather than the field's default."""
    return "public_base_url" in intake_settings().model_fields_set


def base_url(request: Request | None = None) -> str:
    """Without a trailing slash."""
    if request is None or public_base_url_is_set():
        return intake_settings().public_base_url.rstrip("/")
    return str(request.base_url).rstrip("/")
