"""A local stand-in for Twilio's REST API: a threaded HTTP server on 127.0.0.1 (random port) that answers
Messages.json and Calls.json like api.twilio.com, serves MMS media, lists call queues (Queues.json, once a
test said who waits: `set_queue`), and records every request.

Point the app at it with HOTLINE_TWILIO_API_BASE_URL=standin.url. `fail_next(status, n)` makes the next n
create requests fail (429/500) to exercise retries.
"""

from __future__ import annotations

import base64
import json
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlparse


@dataclass
class Recorded:
    method: str
    path: str
    form: dict[str, Any]
    account: str | None


@dataclass
class TwilioStandIn:
    requests: list[Recorded] = field(default_factory=list)
    media: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    # Queue name → callers waiting. None: Queues.json answers 404, as before queues were served.
    queues: dict[str, int] | None = None
    _fail: list[int] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self, port: int = 0) -> TwilioStandIn:
        handler = type("Handler", (_Handler,), {"standin": self})
        self.server = ThreadingHTTPServer(("127.0.0.1", port), handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def fail_next(self, status: int, n: int = 1) -> None:
        with self._lock:
            self._fail.extend([status] * n)

    def add_media(self, account: str, message_sid: str, data: bytes, ctype: str) -> str:
        """Serve a media file at Twilio's media path; returns the https://api.twilio.com URL Twilio would send."""
        path = f"/2010-04-01/Accounts/{account}/Messages/{message_sid}/Media/ME{uuid.uuid4().hex}"
        self.media[path] = (data, ctype)
        return "https://api.twilio.com" + path

    def set_queue(self, name: str, waiting: int) -> None:
        """The queue (created on demand, like <Enqueue> does) now has this many callers waiting."""
        with self._lock:
            self.queues = {**(self.queues or {}), name: waiting}

    def messages(self) -> list[dict[str, Any]]:
        return [r.form for r in self.requests if r.method == "POST" and r.path.endswith("/Messages.json")]

    def calls(self) -> list[dict[str, Any]]:
        return [r.form for r in self.requests if r.method == "POST" and r.path.endswith("/Calls.json")]


_NOT_FOUND = json.dumps({"code": 20404, "message": "not found", "status": 404}).encode()


class _Handler(BaseHTTPRequestHandler):
    standin: TwilioStandIn  # set for each server (TwilioStandIn.start)

    def log_message(self, *args: Any) -> None:  # quiet in test output
        pass

    def _account(self) -> str | None:
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            return base64.b64decode(auth[6:]).decode().split(":", 1)[0]
        return None

    def _send(self, status: int, body: bytes, ctype: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        path = urlparse(self.path).path
        with self.standin._lock:
            self.standin.requests.append(Recorded("GET", path, {}, self._account()))
        queues = _queue_page(path, self.standin.queues)
        if path in self.standin.media:
            data, ctype = self.standin.media[path]
            self._send(200, data, ctype)
        elif queues is not None:
            self._send(200, json.dumps(queues).encode())
        else:
            self._send(404, _NOT_FOUND)

    def do_POST(self) -> None:
        path = urlparse(self.path).path
        length = int(self.headers.get("Content-Length", "0") or 0)
        form = _form(self.rfile.read(length).decode())
        with self.standin._lock:
            self.standin.requests.append(Recorded("POST", path, form, self._account()))
            fail = self.standin._fail.pop(0) if self.standin._fail else None
        if fail:
            body = {"code": 20429 if fail == 429 else 20500, "message": "stand-in failure", "status": fail}
            self._send(fail, json.dumps(body).encode())
            return
        created = _create(path, form)
        if created is None:
            self._send(404, _NOT_FOUND)
        else:
            self._send(201, json.dumps(created).encode())


def _form(raw: str) -> dict[str, Any]:
    """Twilio's form encoding: a repeated key (StatusCallbackEvent) becomes a list."""
    form: dict[str, Any] = {}
    for k, v in parse_qsl(raw, keep_blank_values=True):
        form[k] = [*form[k], v] if k in form and isinstance(form[k], list) else ([form[k], v] if k in form else v)
    return form


def _queue_page(path: str, queues: dict[str, int] | None) -> dict[str, Any] | None:
    """GET /2010-04-01/Accounts/<sid>/Queues.json: one page with every queue, as Twilio lists them."""
    parts = path.strip("/").split("/")
    if queues is None or not (
        len(parts) == 4 and parts[:2] == ["2010-04-01", "Accounts"] and parts[3] == "Queues.json"
    ):
        return None
    account, uri = parts[2], path
    records = [
        {
            "sid": "QU" + uuid.uuid5(uuid.NAMESPACE_URL, name).hex,
            "account_sid": account,
            "friendly_name": name,
            "current_size": waiting,
            "max_size": 1000,
            "average_wait_time": 0,
            "date_created": "Wed, 25 Nov 2026 08:00:00 +0000",
            "date_updated": "Wed, 25 Nov 2026 08:00:00 +0000",
            "uri": f"/2010-04-01/Accounts/{account}/Queues/QU{uuid.uuid5(uuid.NAMESPACE_URL, name).hex}.json",
        }
        for name, waiting in queues.items()
    ]
    return {
        "queues": records,
        "first_page_uri": uri,
        "next_page_uri": None,
        "previous_page_uri": None,
        "page": 0,
        "page_size": 100,
        "start": 0,
        "end": max(len(records) - 1, 0),
        "uri": uri,
    }


def _create(path: str, form: dict[str, Any]) -> dict[str, Any] | None:
    """The resource a POST to /2010-04-01/Accounts/<sid>/Messages.json or Calls.json creates, else None."""
    parts = path.strip("/").split("/")
    if len(parts) == 4 and parts[0] == "2010-04-01" and parts[1] == "Accounts":
        sid_acc, resource = parts[2], parts[3]
        if resource == "Messages.json":
            return _message(sid_acc, form)
        if resource == "Calls.json":
            return _call(sid_acc, form)
    return None


def _message(account: str, form: dict[str, Any]) -> dict[str, Any]:
    sid = "SM" + uuid.uuid4().hex
    return {
        "sid": sid,
        "account_sid": account,
        "to": form.get("To"),
        "from": form.get("From"),
        "body": form.get("Body"),
        "status": "queued",
        "direction": "outbound-api",
        "num_segments": "1",
        "num_media": "0",
        "price": None,
        "price_unit": "USD",
        "api_version": "2010-04-01",
        "date_created": "Wed, 25 Nov 2026 08:00:00 +0000",
        "date_updated": "Wed, 25 Nov 2026 08:00:00 +0000",
        "date_sent": None,
        "error_code": None,
        "error_message": None,
        "messaging_service_sid": None,
        "uri": f"/2010-04-01/Accounts/{account}/Messages/{sid}.json",
        "subresource_uris": {},
    }


def _call(account: str, form: dict[str, Any]) -> dict[str, Any]:
    sid = "CA" + uuid.uuid4().hex
    return {
        "sid": sid,
        "account_sid": account,
        "to": form.get("To"),
        "from": form.get("From"),
        "status": "queued",
        "direction": "outbound-api",
        "api_version": "2010-04-01",
        "date_created": "Wed, 25 Nov 2026 08:00:00 +0000",
        "date_updated": "Wed, 25 Nov 2026 08:00:00 +0000",
        "start_time": None,
        "end_time": None,
        "duration": None,
        "price": None,
        "answered_by": None,
        "uri": f"/2010-04-01/Accounts/{account}/Calls/{sid}.json",
        "subresource_uris": {},
    }


def main() -> None:
    """`python -m tests.twilio_standin --port 8089`: serve until Ctrl-C, printing each request as JSON."""
    import argparse
    import time

    ap = argparse.ArgumentParser(description=main.__doc__)
    ap.add_argument("--port", type=int, default=8089)
    args = ap.parse_args()
    standin = TwilioStandIn().start(args.port)
    print(f"Twilio stand-in on {standin.url}", flush=True)
    seen = 0
    try:
        while True:
            time.sleep(0.2)
            with standin._lock:
                new = standin.requests[seen:]
                seen = len(standin.requests)
            for r in new:
                print(json.dumps({"method": r.method, "path": r.path, "form": r.form}, ensure_ascii=False), flush=True)
    except KeyboardInterrupt:
        standin.stop()


if __name__ == "__main__":
    main()
