"""The Jinja2 environment of the resident pages, and the whitelist of static files they use."""

from __future__ import annotations

from pathlib import Path

from fastapi.templating import Jinja2Templates

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))

# No directory serving: exactly these files, with fixed types (nothing uploaded can ever land here).
STATIC_FILES = {
    "h5.css": "text/css; charset=utf-8",
    "h5.js": "text/javascript; charset=utf-8",
}
STATIC_DIR = HERE / "static"
