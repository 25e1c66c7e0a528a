"""HMAC-SHA256 request signing for camera alerts. Pure functions, shared by the server, tests and the
`hotline cameras` CLI (which prints a curl example).

A camera sends three headers:
    X-Camera-Id:   its registered id
    X-Timestamp:   Unix seconds when it signed
    X-Signature:   hex HMAC-SHA256(secret, f"{timestamp}." + raw body bytes)   ("sha256=" prefix allowed)
Signing the timestamp with the body lets the server refuse old requests without keeping every
signature forever: only those younger than the allowed skew need remembering for the replay check.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

HEADER_CAMERA = "X-Camera-Id"
HEADER_TIMESTAMP = "X-Timestamp"
HEADER_SIGNATURE = "X-Signature"


class SignatureError(Exception):
    """Why an alert is refused. `status` is the HTTP status (401 bad credentials, 403 replay)."""

    def __init__(self, status: int, title: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    msg = str(timestamp).encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), msg, hashlib.sha256).hexdigest()


def signed_headers(camera_id: str, secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    ts = int(time.time()) if timestamp is None else timestamp
    return {HEADER_CAMERA: camera_id, HEADER_TIMESTAMP: str(ts), HEADER_SIGNATURE: sign(secret, ts, body)}


def parse_signature(value: str | None) -> str:
    sig = (value or "").strip().lower().removeprefix("sha256=")
    if len(sig) != 64 or any(c not in "0123456789abcdef" for c in sig):
        raise SignatureError(401, "签名缺失或格式错误", "X-Signature must be 64 hex characters")
    return sig


def check_timestamp(value: str | None, now: float, max_skew: int) -> int:
    try:
        ts = int((value or "").strip())
    except ValueError:
        raise SignatureError(401, "时间戳缺失或格式错误", "X-Timestamp must be Unix seconds") from None
    if abs(now - ts) > max_skew:
        raise SignatureError(401, "告警已过期", f"timestamp is {int(now - ts)} s off (max {max_skew} s)")
    return ts


def verify(secret: str, timestamp: int, body: bytes, signature: str) -> None:
    if not hmac.compare_digest(sign(secret, timestamp, body), signature):
        raise SignatureError(401, "签名错误", "signature does not match the camera's secret")
