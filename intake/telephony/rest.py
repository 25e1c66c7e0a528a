"""The Twilio REST client, built from settings, pointed at a stand-in when HOTLINE_TWILIO_API_BASE_URL is set,
and paced so a burst of notices stays under the account's rate limit."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import requests
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from cases import providers
from intake.telephony.settings import TelephonySettings, telephony_settings

log = logging.getLogger(__name__)
# Twilio's client logs every request's headers and body at INFO (a resident's number among them): WARNING.
logging.getLogger("twilio.http_client").setLevel(logging.WARNING)

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


def get_client(settings: TelephonySettings | None = None, timeout: float = 10) -> Client:
    s = settings or telephony_settings()
    http = BaseUrlHttpClient(s.twilio_api_base_url, timeout=timeout)
    return Client(s.twilio_account_sid, s.twilio_auth_token, http_client=http)


def transient(exc: Exception) -> bool:
    """Worth trying again: Twilio's rate limit, its server errors, the network."""
    if isinstance(exc, TwilioRestException):
        return bool(exc.status == 429 or exc.status >= 500)
    return isinstance(exc, requests.RequestException)


def with_retries(send: Callable[[], str]) -> tuple[str | None, str | None, int]:
    """Run one create request, again after transient errors (HOTLINE_TWILIO_MAX_ATTEMPTS, bounded back-off):
    (the created resource's sid or None, the last error or None, attempts made)."""
    settings = telephony_settings()
    error: str | None = None
    for attempt in range(settings.twilio_max_attempts):
        try:
            return send(), None, attempt + 1
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"[:1000]
            if not transient(exc) or attempt + 1 == settings.twilio_max_attempts:
                return None, error, attempt + 1
            time.sleep(min(0.2 * 2**attempt, 2.0))  # bounded back-off inside the job
    return None, error, settings.twilio_max_attempts


def queue_size(name: str) -> int | None:
    """How many callers wait in the named queue (0 when Twilio has no such queue: nobody ever waited),
    or None when Twilio could not say — then nobody is refused for it. A short timeout: an agent waits."""
    try:
        for queue in get_client(timeout=3).queues.list(page_size=100):
            if queue.friendly_name == name:
                return int(queue.current_size or 0)
        return 0
    except Exception as exc:
        log.warning("size of queue %s unknown: %s", name, exc)
        return None


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
