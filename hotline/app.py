"""The FastAPI app factory: the one place where routers, the queue and start-up steps meet."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from sqlalchemy import text

from cases import jobs
from cases.db import get_engine
from cases.settings import get_settings
from hotline.bootstrap import configure_logging, freeze_startup_objects, prepare_database
from hotline.queues import InProcessQueue, redis_connection
from hotline.sweeper import start_sweeper
from hotline.wiring import configure_runtime
from intake import api as intake_api
from intake import web as web_form
from intake.camera import api as camera_api
from intake.open311 import api as open311_api
from intake.problems import problem
from intake.telephony import router as telephony_router
from intake.telephony import voice


def _validation_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"loc": [str(p) for p in e.get("loc", ())], "msg": e.get("msg"), "type": e.get("type")}
        for e in exc.errors()
    ]
    return problem(422, "请求参数无效", "the request body or parameters do not validate", errors=errors)


def create_app(configure_jobs: bool = True) -> FastAPI:
    settings = get_settings()
    configure_logging(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.migrate_on_start:
            prepare_database()
        if settings.warm_up_on_start:
            # The category model, call flows and speech hints load before the first request, not
            # during a caller's first sentence.
            voice.warm_up(background=False)
            freeze_startup_objects()
        stop = None
        if configure_jobs:
            q = configure_runtime("web", settings)
            if isinstance(q, InProcessQueue):
                # Embedded default: nobody else runs the sweeper.
                stop = start_sweeper(settings)
        yield
        if stop is not None:
            stop.set()

    app = FastAPI(
        title="12319 城市管理热线 · intake API",
        version="0.1.0",
        lifespan=lifespan,
        description="Reports from every channel become classified, routed and tracked cases.",
    )
    app.add_exception_handler(RequestValidationError, _validation_problem)
    app.add_exception_handler(intake_api.ApiProblem, intake_api.problem_response)
    app.include_router(intake_api.router)
    app.include_router(camera_api.router)
    app.include_router(web_form.router)
    app.include_router(open311_api.router)
    app.include_router(telephony_router)

    @app.get("/", include_in_schema=False)
    def index() -> RedirectResponse:
        return RedirectResponse("/docs")

    @app.get("/healthz", tags=["ops"])
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["ops"])
    def readyz() -> Any:
        checks: dict[str, str] = {}
        try:
            with get_engine().connect() as conn:
                conn.execute(text("SELECT 1"))
            checks["database"] = "ok"
        except Exception as exc:
            checks["database"] = f"unreachable: {type(exc).__name__}"
        if settings.redis_url:
            try:
                redis_connection(settings.redis_url).ping()
                checks["redis"] = "ok"
            except Exception as exc:
                checks["redis"] = f"unreachable: {type(exc).__name__}"
        else:
            checks["queue"] = "in-process" if _has_queue() else "not configured"
        ok = all(v in ("ok", "in-process") for v in checks.values())
        if ok:
            return {"status": "ready", "checks": checks}
        return problem(503, "服务暂不可用", "a dependency is unreachable", checks=checks)

    return app


def _has_queue() -> bool:
    try:
        jobs.get_queue()
        return True
    except RuntimeError:
        return False
