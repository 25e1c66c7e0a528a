"""The Twilio REST client, built from settings, pointed at a stand-in when HOTLINE_TWILIO_API_BASE_URL is set,
and paced so a burst of notices stays under the account's rate limit."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import requests
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from cases import providers
from intake.telephony.settings import TelephonySettings, telephony_settings

log = logging.getLogger(__name__)

TWILIO_API = "https://api.twilio.com"


class BaseUrlHttpClient(TwilioHttpClient):  # type: ignore[misc]
    """Sends every request for https://api.twilio.com to `base_url` instead (a local stand-in, a proxy)."""

    def __init__(self, base_url: str | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.base_url = base_url.rstrip("/") if base_url else None

    def rewrite(self, url: str) -> str:
        if self.base_url and url.startswith(TWILIO_API):
            return self.base_url + url[len(TWILIO_API) :]
        return url

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        _pace()
        return super().request(method, self.rewrite(url), *args, **kwargs)


class _Pacer:
    """At most `rate` requests per second from this process (a leaky bucket, thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next = 0.0

    def wait(self, rate: float) -> None:
        if rate <= 0:
            return
        with self._lock:
            now = time.monotonic()
            at = max(now, self._next)
            self._next = at + 1.0 / rate
        if at > now:
            time.sleep(at - now)


PACER = providers.Key("Twilio REST pacer", _Pacer)


def _pace() -> None:
    providers.get(PACER).wait(telephony_settings().twilio_rate_per_second)


def credentials_missing(settings: TelephonySettings | None = None) -> str | None:
    """Why nothing can be sent (a readable reason), or None when the account is configured."""
    s = settings or telephony_settings()
    missing = [
        name
        for name, value in (
            ("HOTLINE_TWILIO_ACCOUNT_SID", s.twilio_account_sid),
            ("HOTLINE_TWILIO_AUTH_TOKEN", s.twilio_auth_token),
            ("HOTLINE_TWILIO_FROM_NUMBER", s.twilio_from_number),
        )
        if not value
    ]
    return f"Twilio is not configured ({', '.join(missing)} unset)" if missing else None


def get_client(settings: TelephonySettings | None = None) -> Client:
    s = settings or telephony_settings()
    http = BaseUrlHttpClient(s.twilio_api_base_url, timeout=10)
    return Client(s.twilio_account_sid, s.twilio_auth_token, http_client=http)


def fetch_media(url: str, settings: TelephonySettings | None = None) -> tuple[bytes, str]:
    """Download an MMS media file through the REST client's HTTP layer (base URL rewrite, pacing, auth).
    Twilio's Response keeps only text, so the bytes come from the client's own requests session."""
    s = settings or telephony_settings()
    http = BaseUrlHttpClient(s.twilio_api_base_url, timeout=15)
    _pace()
    session = http.session or requests.Session()
    resp = session.get(http.rewrite(url), auth=(s.twilio_account_sid or "", s.twilio_auth_token or ""), timeout=15)
    if resp.status_code >= 400:
        raise RuntimeError(f"media download {url} answered {resp.status_code}")
    return resp.content, resp.headers.get("Content-Type", "application/octet-stream").split(";")[0]
