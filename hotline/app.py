"""The FastAPI app factory: the one place where routers, the queue and start-up steps meet."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy import exc as sa_exc
from sqlalchemy import text
from starlette.exceptions import HTTPException as StarletteHTTPException

from agent_ui import errors as people_errors
from agent_ui import router as people
from agent_ui.headers import PeopleHeadersMiddleware
from cases import jobs
from cases.db import get_engine
from cases.sanitize import has_unsafe
from cases.settings import KernelSettings, kernel_settings
from hotline import metrics
from hotline.apidocs import add_docs
from hotline.bootstrap import configure_logging, freeze_startup_objects, prepare_database
from hotline.queues import InProcessQueue, RQQueue, live_workers, redis_connection
from hotline.request_id import RequestIdMiddleware, with_request_id
from hotline.settings import build_settings, server_settings
from hotline.sweeper import start_sweeper
from hotline.wiring import configure_runtime, wire_jobs_and_hooks
from intake import api as intake_api
from intake import web as web_form
from intake.camera import api as camera_api
from intake.open311 import api as open311_api
from intake.open311.render import error as open311_error
from intake.problems import problem, problem_responses
from intake.telephony import router as telephony_router
from intake.telephony import voice
from intake.web.errors import error_page

log = logging.getLogger(__name__)

# Titles for people, by status, when a route or Starlette itself refuses a request.
HTTP_TITLES = {
    400: "请求无效",
    401: "需要身份验证",
    403: "无权访问",
    404: "未找到",
    405: "不支持该请求方法",
    409: "状态冲突",
    413: "请求内容过大",
    415: "不支持的内容类型",
    422: "请求参数无效",
    429: "请求太频繁，请稍后再试",
    503: "服务暂不可用",
}


def _door_error(request: Request, status: int, title: str, detail: str, **extra: Any) -> Response:
    """A refusal in the format of the door it came through: Open311's own error list (JSON or XML),
    a Chinese page or fragment for the resident pages, problem+json for everything else."""
    path = request.url.path
    if path.startswith("/open311/"):
        fmt = "xml" if path.endswith(".xml") else "json"
        return open311_error(fmt, 400 if status == 422 else status, detail)
    if path.startswith("/h5") and not path.startswith("/h5/static/"):
        return error_page(request, status, title, title)
    if people_errors.is_people_path(path):
        return people_errors.error_page(request, status, title, detail if detail != title else None)
    return problem(status, title, detail, **extra)


def _validation_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"loc": [str(p) for p in e.get("loc", ())], "msg": e.get("msg"), "type": e.get("type")} for e in exc.errors()
    ]
    return _door_error(request, 422, "请求参数无效", "the request body or parameters do not validate", errors=errors)


class UnsafeURL(Exception):
    """A path or query parameter holds a character no stored identifier can (cases.sanitize)."""


def refuse_unsafe_url(request: Request) -> None:
    """App-wide dependency: every path and query value is an identifier or a search term, and one with
    NUL or another control character matches nothing, so it is refused before any route queries the
    database with it (PostgreSQL would fail on NUL, drivers on lone surrogates)."""
    if has_unsafe(request.url.path) or any(
        has_unsafe(k) or has_unsafe(v) for k, v in request.query_params.multi_items()
    ):
        raise UnsafeURL()


def _unsafe_url_problem(request: Request, exc: Exception) -> Response:
    return _door_error(request, 422, "请求包含无效字符", "the path or a query parameter contains a control character")


def _http_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    title = HTTP_TITLES.get(exc.status_code, "请求无法处理")
    detail = exc.detail if isinstance(exc.detail, str) else title
    response = _door_error(request, exc.status_code, title, detail)
    for k, v in (exc.headers or {}).items():
        response.headers[k] = v
    return response


def _unexpected_problem(request: Request, exc: Exception) -> Response:
    """Last resort for a bug: a problem body with nothing internal in it (no exception text, SQL or
    parameters); the traceback goes to the log, where phone numbers are masked (bootstrap)."""
    log.error("unhandled %s on %s %s", type(exc).__name__, request.method, request.url.path, exc_info=exc)
    return with_request_id(problem(500, "服务器内部错误", "an unexpected error occurred; it has been logged"))


_HEALTHY = re.compile(r"^(ok|in-process|[1-9][0-9]* live)$")
DB_RETRY_AFTER_SECONDS = 5
DB_UNAVAILABLE = (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError)


def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    """The database cannot be reached (restarting, failing over, pool exhausted). The request's transaction
    rolled back, so nothing of it was stored and the client may simply send it again."""
    response = problem(503, "服务暂时不可用，请稍后重试", "database unreachable; nothing was stored, retry later")
    response.headers["Retry-After"] = str(DB_RETRY_AFTER_SECONDS)
    return response


def add_database_unavailable_handler(app: FastAPI) -> None:
    for exc_class in DB_UNAVAILABLE:
        app.add_exception_handler(exc_class, _database_unavailable)


def create_app(queue: jobs.JobQueue | None = None) -> FastAPI:
    """The app. Jobs and case hooks are always wired, so the follow-up jobs of a case move (派遣, 反馈,
    核实) run whatever queue runs them. `queue`: None, the queue the settings call for (RQ on Redis,
    else an in-process thread), and this process runs the sweeper beside it; given (tests), that queue,
    and no sweeper: the caller runs `hotline.sweeper.sweep_once` when it wants one."""
    build_settings()
    settings, server = kernel_settings(), server_settings()
    configure_logging(server)
    wire_jobs_and_hooks()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if server.migrate_on_start:
            prepare_database()
        if server.warm_up_on_start:
            # The category model, call flows and speech hints load before the first request, not
            # during a caller's first sentence.
            voice.warm_up(background=False)
            freeze_startup_objects()
        q = configure_runtime("web", settings, queue)
        stop = _sweeper_beside(q, settings) if queue is None else None
        yield
        if stop is not None:
            stop.set()

    app = FastAPI(
        title="12319 城市管理热线 · intake API",
        version="0.1.0",
        lifespan=lifespan,
        description="Reports from every channel become classified, routed and tracked cases.",
        dependencies=[Depends(refuse_unsafe_url)],
        # Any route: a control character in the path or query (refuse_unsafe_url), the database away.
        responses=problem_responses(422, 503),
        docs_url=None,  # hotline.apidocs: the same pages from vendored assets, no CDN
        redoc_url=None,
    )
    app.add_exception_handler(RequestValidationError, _validation_problem)
    app.add_exception_handler(intake_api.ApiProblem, intake_api.problem_response)
    app.add_exception_handler(UnsafeURL, _unsafe_url_problem)
    app.add_exception_handler(StarletteHTTPException, _http_problem)
    app.add_exception_handler(Exception, _unexpected_problem)
    add_database_unavailable_handler(app)
    people_errors.add_handlers(app)
    app.add_middleware(PeopleHeadersMiddleware)
    app.add_middleware(metrics.IntakeRefusalMiddleware)
    app.add_middleware(RequestIdMiddleware)
    app.include_router(intake_api.router)
    app.include_router(camera_api.router)
    app.include_router(web_form.router)
    app.include_router(open311_api.router)
    app.include_router(telephony_router)
    add_docs(app)  # before the people's pages: `/` is the front door for everybody
    app.include_router(people.router)
    app.include_router(metrics.router)

    @app.get("/healthz", tags=["ops"])
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["ops"])
    def readyz() -> Any:
        return _readiness(settings)

    return app


def _readiness(settings: KernelSettings) -> Any:
    """Ready: the database answers and something runs the jobs; else a 503 naming what is not."""
    checks: dict[str, str] = {}
    try:
        with get_engine().connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"unreachable: {type(exc).__name__}"
    if settings.redis_url:
        checks.update(_queue_checks(settings.redis_url, settings.queue_name))
    else:
        checks["queue"] = "in-process" if _in_process_queue_alive() else "not running"
    failing = [f"{k}: {v}" for k, v in checks.items() if not _HEALTHY.match(v)]
    if not failing:
        return {"status": "ready", "checks": checks}
    response = problem(503, "服务暂不可用", "; ".join(failing), checks=checks)
    response.headers["Retry-After"] = str(DB_RETRY_AFTER_SECONDS)
    return response


def _sweeper_beside(q: jobs.JobQueue, settings: KernelSettings) -> threading.Event | None:
    if isinstance(q, InProcessQueue):
        return start_sweeper(settings)  # embedded default: nobody else runs the sweeper
    if isinstance(q, RQQueue):
        # Also here, under the same fleet-wide Redis lock as in the workers: sweeping goes on while
        # workers come and go (or all are down), not only while one is running.
        return start_sweeper(settings, q.connection)
    return None


def _queue_checks(redis_url: str, queue_name: str) -> dict[str, str]:
    """Redis reachable, and some `hotline worker` with a running work loop beat recently: without one,
    reports are stored but nothing makes them cases."""
    try:
        redis = redis_connection(redis_url)
        redis.ping()
    except Exception as exc:
        return {"redis": f"unreachable: {type(exc).__name__}"}
    try:
        n = live_workers(redis, queue_name)
    except Exception as exc:
        return {"redis": f"unreachable: {type(exc).__name__}"}
    return {"redis": "ok", "workers": f"{n} live" if n else "none live"}


def _in_process_queue_alive() -> bool:
    try:
        q = jobs.get_queue()
    except RuntimeError:
        return False
    return q.alive() if isinstance(q, InProcessQueue) else True
