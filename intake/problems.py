"""RFC 9457 problem details for machine clients; `title` is Chinese so a person reading it understands."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse


def problem(status: int, title: str, detail: str | None = None, **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type="application/problem+json")
