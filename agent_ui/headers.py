"""Security headers of people's pages: a Content-Security-Policy that allows only this site's own
scripts, styles, images and media (no inline script: a `<script>` smuggled into a report could not run
even if escaping failed), no framing, no caching of pages that show residents' data."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agent_ui.errors import is_people_path
from agent_ui.static import PREFIX as STATIC_PREFIX

# img-src blob: lets the grid worker's page preview the photos just taken (URL.createObjectURL) before upload.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; media-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'self'; object-src 'none'"
)


class PeopleHeadersMiddleware:
    """Plain ASGI (no BaseHTTPMiddleware: it would buffer every response of the app)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        static = path.startswith(STATIC_PREFIX + "/")
        if not (static or is_people_path(path)):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["Content-Security-Policy"] = CSP
                headers["X-Content-Type-Options"] = "nosniff"
                headers["X-Frame-Options"] = "DENY"
                headers["Referrer-Policy"] = "same-origin"
                if not static:
                    headers["Cache-Control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_with_headers)
