"""The console's static files: exactly these, with fixed types and long caching (names carry versions
where the content is third-party)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse

STATIC_DIR = Path(__file__).parent / "static"
FILES = {
    "console.css": "text/css; charset=utf-8",
    "console.js": "text/javascript; charset=utf-8",
    "calls.css": "text/css; charset=utf-8",
    "newcase.css": "text/css; charset=utf-8",
    "newcase.js": "text/javascript; charset=utf-8",
    "actions.css": "text/css; charset=utf-8",
    "actions.js": "text/javascript; charset=utf-8",
    "callbacks.css": "text/css; charset=utf-8",
    "queue.css": "text/css; charset=utf-8",
    "queue.js": "text/javascript; charset=utf-8",
    "case.css": "text/css; charset=utf-8",
    "departments.css": "text/css; charset=utf-8",
    "calendar.css": "text/css; charset=utf-8",
    "dept.css": "text/css; charset=utf-8",
    "dept.js": "text/javascript; charset=utf-8",
    "supervisor.css": "text/css; charset=utf-8",
    "rules.css": "text/css; charset=utf-8",
    "dashboard.css": "text/css; charset=utf-8",
    "grid.css": "text/css; charset=utf-8",
    "grid.js": "text/javascript; charset=utf-8",
    "vendor/htmx-2.0.11.min.js": "text/javascript; charset=utf-8",
    "vendor/icons.svg": "image/svg+xml",
}
PREFIX = "/static/console"

router = APIRouter(include_in_schema=False)


@router.get(PREFIX + "/{name:path}")
def static_file(name: str) -> FileResponse:
    ctype = FILES.get(name)
    if ctype is None:
        raise HTTPException(404, "没有这个文件")
    return FileResponse(STATIC_DIR / name, media_type=ctype, headers={"Cache-Control": "public, max-age=3600"})
