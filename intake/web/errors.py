"""Errors of the resident pages in Chinese HTML: a page for a browser, a fragment for the form's fetches."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse

from intake.web.templating import templates

# Fetched by h5.js and inserted into the page: a whole page there would nest <html> in the form.
FRAGMENT_PATHS = ("/h5/categories", "/status")


def error_page(request: Request, status: int, title: str, message: str) -> HTMLResponse:
    path = request.url.path
    name = "_error.html" if path == FRAGMENT_PATHS[0] or path.endswith(FRAGMENT_PATHS[1]) else "message.html"
    response = templates.TemplateResponse(request, name, {"title": title, "message": message}, status_code=status)
    response.headers["Cache-Control"] = "no-store"
    return response
