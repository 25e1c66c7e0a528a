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


# What each refusal means, for the OpenAPI schema (`responses=problem_responses(404, 422)` on a route):
# clients and the schemathesis CI check see exactly which 4xx an operation can answer.
PROBLEM_MEANINGS = {
    400: "Malformed request (application/problem+json)",
    401: "Missing or unknown API key (application/problem+json)",
    403: "Not allowed for this key, or a replayed/deactivated signature (application/problem+json)",
    404: "Not found (application/problem+json)",
    409: "Conflicts with the current state (application/problem+json)",
    413: "Request body too large (application/problem+json)",
    422: "Invalid body or parameters, e.g. control characters or an id out of range (application/problem+json)",
    429: "Rate limited; see Retry-After (application/problem+json)",
    503: "A dependency is unavailable; nothing was stored, retry after Retry-After (application/problem+json)",
}

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string", "description": "In Chinese, for the person reading it"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
    },
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {
        s: {"description": PROBLEM_MEANINGS[s], "content": {"application/problem+json": {"schema": PROBLEM_SCHEMA}}}
        for s in statuses
    }
