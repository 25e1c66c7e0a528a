"""Every Twilio webhook proves it came from Twilio (X-Twilio-Signature) before anything is read or stored."""

from __future__ import annotations

import logging

from fastapi import HTTPException, Request
from twilio.request_validator import RequestValidator

from cases.metrics import count_signature_failure
from cases.sanitize import clean_text
from intake.telephony.settings import telephony_settings
from intake.urls import base_url

log = logging.getLogger(__name__)


def public_url(request: Request) -> str:
    """The URL Twilio called: the configured public base + this path and query. Behind a reverse proxy the
    server sees another scheme/host/port than Twilio signed, so request.url cannot be used once
    HOTLINE_PUBLIC_BASE_URL is set; unset (one server, no proxy: the demo), the address really called."""
    base = base_url(request)
    q = request.url.query
    return f"{base}{request.url.path}" + (f"?{q}" if q else "")


async def twilio_form(request: Request) -> dict[str, str]:
    """FastAPI dependency: the validated form parameters of a Twilio request, or 403.

    Twilio signs what the caller sent, NUL included, so the signature is checked on the raw values;
    only then are they cleaned (`cases.sanitize`): a resident's SMS body or speech with a control
    character is stored without it, instead of failing on every retry of the webhook."""
    token = telephony_settings().twilio_auth_token
    form = await request.form()
    params = {k: str(v) for k, v in form.multi_items()}
    signature = request.headers.get("X-Twilio-Signature", "")
    if not token:
        log.error("Twilio webhook %s refused: HOTLINE_TWILIO_AUTH_TOKEN is not set", request.url.path)
        raise HTTPException(403, "webhook signing is not configured")
    if not signature or not RequestValidator(token).validate(public_url(request), params, signature):
        log.warning("Twilio webhook %s refused: bad or missing X-Twilio-Signature", request.url.path)
        count_signature_failure("twilio")
        raise HTTPException(403, "invalid Twilio signature")
    return {clean_text(k): clean_text(v) for k, v in params.items()}
