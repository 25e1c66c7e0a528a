"""Every web request's log lines carry its id (`request_id`), and its response says which it was.

The id is the caller's `X-Request-ID` when that is a well-formed one (a proxy's or a client's, so one id
follows the request across systems), else a fresh one. A pure ASGI middleware rather than Starlette's
`BaseHTTPMiddleware`: no extra task between the request and its endpoint, so the id bound here is in the
context of every line logged for it — the endpoint's, the libraries', uvicorn's access line.
"""

from __future__ import annotations

import re
import uuid

import structlog
from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = "X-Request-ID"
# Letters, digits and the separators ids are made of (UUIDs, trace ids): nothing that could break a log
# line or a header, and short enough to read.
_WELL_FORMED = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")


def request_id_from(value: str | None) -> str:
    """The id a request goes by: `value` (its header) when well-formed, else a new one."""
    if value is not None and _WELL_FORMED.fullmatch(value):
        return value
    return uuid.uuid4().hex


def current_request_id() -> str | None:
    return structlog.contextvars.get_contextvars().get("request_id")


def with_request_id(response: Response) -> Response:
    """`response` carrying the current request's id; for the answers sent around the middleware (the
    last-resort 500, which Starlette renders outside every middleware)."""
    request_id = current_request_id()
    if request_id is not None:
        response.headers[HEADER] = request_id
    return response


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_from(Headers(scope=scope).get(HEADER))

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[HEADER] = request_id
            await send(message)

        tokens = structlog.contextvars.bind_contextvars(request_id=request_id)
        await self.app(scope, receive, send_with_id)
        # Not reset when the app raised: the error's log lines come after this frame (Starlette's
        # last-resort handler, uvicorn), in this request's own task, which ends with the request.
        structlog.contextvars.reset_contextvars(**tokens)
