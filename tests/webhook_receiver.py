"""A department's own system, as a test stands it up: a small HTTP server on 127.0.0.1 that checks each
delivery the way docs/department-notices.md tells a receiver to — HMAC-SHA256 over "timestamp.body" with
the shared secret, compared in constant time; a timestamp more than 5 minutes away refused; delivery ids
remembered, so a repeat is recognised — computed here independently of routing.notices. It answers
with the statuses a test scripts (then 200)."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Delivery:
    delivery_id: str
    timestamp: str
    body: str
    valid: bool  # signature and timestamp as the docs say
    repeat: bool  # this delivery id was seen before
    answered: int

    @property
    def json(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.body)
        return data


@dataclass
class WebhookReceiver:
    secret: str
    statuses: list[int] = field(default_factory=list)  # answers to the next requests, then 200
    deliveries: list[Delivery] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}/hotline/notices"

    def start(self) -> WebhookReceiver:
        handler = type("Handler", (_Handler,), {"receiver": self})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def check(self, timestamp: str, body: str, signature: str) -> bool:
        if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > 300:
            return False
        expected = hmac.new(self.secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, signature)

    def receive(self, headers: Any, body: str) -> int:
        with self._lock:
            status = self.statuses.pop(0) if self.statuses else 200
            delivery_id = headers.get("X-Hotline-Delivery", "")
            valid = self.check(headers.get("X-Hotline-Timestamp", ""), body, headers.get("X-Hotline-Signature", ""))
            repeat = delivery_id in self.seen
            if valid and 200 <= status < 300:
                self.seen.add(delivery_id)
            self.deliveries.append(
                Delivery(delivery_id, headers.get("X-Hotline-Timestamp", ""), body, valid, repeat, status)
            )
            return status if valid else 401


class _Handler(BaseHTTPRequestHandler):
    receiver: WebhookReceiver

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length).decode("utf-8")
        status = self.receiver.receive(self.headers, body)
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass
