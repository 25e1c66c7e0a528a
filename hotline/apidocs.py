"""The API's documentation pages and the site's front door, with no CDN: `/docs` (Swagger UI) and `/redoc`
load vendored scripts from `/api-docs/static/` (hotline/static/VENDORED.md), so they work on a machine
with no internet and under a Content-Security-Policy that allows only this site's scripts; `/` sends a
signed-in person to their workbench and shows everyone else the three doors (residents, staff, API)."""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from agent_ui.auth import HOME, Principal, optional_principal

STATIC_DIR = Path(__file__).parent / "static"
STATIC_PREFIX = "/api-docs/static"
SWAGGER_JS = f"{STATIC_PREFIX}/vendor/swagger-ui-bundle-5.35.0.js"
SWAGGER_CSS = f"{STATIC_PREFIX}/vendor/swagger-ui-5.35.0.css"
SWAGGER_INIT = f"{STATIC_PREFIX}/swagger-init.js"
REDOC_JS = f"{STATIC_PREFIX}/vendor/redoc-2.5.4.standalone.js"
LANDING_CSS = f"{STATIC_PREFIX}/landing.css"

# Only this site's scripts. Styles: Swagger UI sets style attributes and ReDoc (styled-components) writes
# <style> elements at run time, so inline styles are allowed here (not on the people's pages); ReDoc
# searches in a Web Worker it starts from a blob: URL; both draw icons as data: images.
DOCS_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'; "
    "base-uri 'self'; object-src 'none'; form-action 'self'"
)
LANDING_CSP = "default-src 'self'; style-src 'self'; frame-ancestors 'none'; base-uri 'self'; object-src 'none'"

router = APIRouter(include_in_schema=False)


def _page(html: str, csp: str) -> HTMLResponse:
    return HTMLResponse(html, headers={"Content-Security-Policy": csp, "X-Content-Type-Options": "nosniff"})


def swagger_page(title: str, openapi_url: str) -> HTMLResponse:
    return _page(
        f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title><link rel="stylesheet" href="{SWAGGER_CSS}"></head>
<body><div id="swagger-ui" data-openapi-url="{escape(openapi_url)}"></div>
<script src="{SWAGGER_JS}"></script><script src="{SWAGGER_INIT}"></script></body></html>
""",
        DOCS_CSP,
    )


def redoc_page(title: str, openapi_url: str) -> HTMLResponse:
    # ReDoc's standalone bundle starts itself on a <redoc spec-url> element: no inline script.
    return _page(
        f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)} · ReDoc</title></head>
<body><redoc spec-url="{escape(openapi_url)}"></redoc><script src="{REDOC_JS}"></script></body></html>
""",
        DOCS_CSP,
    )


LANDING = f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>12319 城市管理热线</title><link rel="stylesheet" href="{LANDING_CSS}"></head>
<body><main>
<h1>12319 城市管理热线</h1>
<p class="lead">垃圾、井盖、占道、噪音……城市管理问题，在这里反映、在这里跟进。</p>
<ul>
<li><a class="door" href="/h5/"><strong>我要反映问题</strong>
<span>居民：填写表单、上传照片，查询办理进度</span></a></li>
<li><a class="door" href="/login"><strong>工作人员登录</strong>
<span>坐席、班长、处置部门、网格员、管理员</span></a></li>
<li><a class="door" href="/docs"><strong>接口文档</strong>
<span>开发者：Open311 与内部接口（也可看 <code>/redoc</code>）</span></a></li>
</ul>
</main></body></html>
"""


@router.get("/", response_class=HTMLResponse)
def front_door(principal: Annotated[Principal | None, Depends(optional_principal)]) -> Response:
    """A signed-in person's workbench; for anyone else, the page that says where each kind of visitor goes."""
    if principal is not None:
        return RedirectResponse(HOME[principal.role], status_code=303)
    return _page(LANDING, LANDING_CSP)


def add_docs(app: FastAPI) -> None:
    """The app is made with docs_url=None and redoc_url=None (FastAPI's own pages load from a CDN)."""
    openapi_url = app.openapi_url or "/openapi.json"
    app.mount(STATIC_PREFIX, StaticFiles(directory=STATIC_DIR), name="api-docs-static")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return swagger_page(app.title, openapi_url)

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return redoc_page(app.title, openapi_url)

    app.include_router(router)
