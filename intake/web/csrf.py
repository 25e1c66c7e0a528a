"""Stateless CSRF protection (signed double submit), so any web node can check any form.

GET sets a random cookie; the form carries `timestamp.HMAC(secret, cookie|timestamp)`. A forged
cross-site POST has the cookie but cannot read it to compute the token; an old token expires.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

from fastapi import Request, Response

from cases import providers
from intake.web.settings import web_form_settings

COOKIE = "h5csrf"
FIELD = "csrf_token"


# Used when HOTLINE_SECRET_KEY is unset: random, the same for the whole process.
PROCESS_SECRET = providers.Key("process CSRF secret", lambda: secrets.token_hex(32))


def secret_key() -> bytes:
    return (web_form_settings().secret_key or providers.get(PROCESS_SECRET)).encode("utf-8")


def sign_value(value: str) -> str:
    return hmac.new(secret_key(), value.encode("utf-8"), hashlib.sha256).hexdigest()[:32]


def issue(request: Request, response: Response) -> str:
    """A token for a form on this page; sets the cookie when the browser has none."""
    seed = request.cookies.get(COOKIE)
    if not seed or len(seed) != 32:
        seed = secrets.token_hex(16)
        response.set_cookie(COOKIE, seed, httponly=True, samesite="lax", max_age=7 * 24 * 3600, path="/h5")
    ts = str(int(time.time()))
    return f"{ts}.{sign_value(seed + '|' + ts)}"


def valid(request: Request, token: str | None) -> bool:
    seed = request.cookies.get(COOKIE)
    if not seed or not token or "." not in token:
        return False
    ts, _, sig = token.partition(".")
    if not _small_number(ts) or time.time() - int(ts) > web_form_settings().web_form_max_age_seconds:
        return False
    return _same(sign_value(seed + "|" + ts), sig)


def _small_number(s: str) -> bool:
    # ASCII and short: '²'.isdigit() is true but int() refuses it, as it refuses 5000 digits.
    return s.isascii() and s.isdigit() and len(s) <= 12


def _same(expected: str, given: str) -> bool:
    # compare_digest raises TypeError on non-ASCII str; bytes compare whatever a client sent.
    return hmac.compare_digest(expected.encode(), given.encode("utf-8", "surrogatepass"))


def sign_id(n: int) -> str:
    """An unguessable public handle for a report id (the "submitted" page)."""
    return f"{n}.{sign_value(f'report:{n}')[:16]}"


def unsign_id(token: str) -> int | None:
    n, _, sig = token.partition(".")
    if not _small_number(n) or not _same(sign_value(f"report:{n}")[:16], sig):
        return None
    return int(n)
