"""The transaction convention: use cases flush, the outermost caller commits — `session_scope` for jobs
and CLI commands, `intake.deps.DbSession` for a request, committed before its response is sent."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import select
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from cases import jobs
from cases.db import session_scope
from cases.jobnames import JobName
from cases.models import Report
from intake.core import accept
from intake.deps import DbSession
from intake.schemas import ReportIn


class Recorder:
    def __init__(self) -> None:
        self.jobs: list[tuple[str, tuple[object, ...]]] = []

    def enqueue(self, func_path: str, *args: object) -> None:
        self.jobs.append((func_path, args))


def _reports() -> list[Report]:
    with session_scope() as s:
        return list(s.exec(select(Report)))


def test_session_scope_commits_what_a_use_case_flushed(env: Path) -> None:
    queue = Recorder()
    jobs.set_queue(queue)
    with session_scope() as s:
        report = accept(s, ReportIn(channel="sms", external_id="SM-uow-1", text="路灯不亮")).report
        assert queue.jobs == []  # nothing runs on a report before it is committed
    assert [r.id for r in _reports()] == [report.id]
    assert queue.jobs == [(JobName.PROCESS_REPORT, (report.id,))]


def test_session_scope_rolls_back_on_error_and_nothing_is_enqueued(env: Path) -> None:
    queue = Recorder()
    jobs.set_queue(queue)
    with pytest.raises(RuntimeError), session_scope() as s:
        accept(s, ReportIn(channel="sms", external_id="SM-uow-2", text="路灯不亮"))
        raise RuntimeError("the caller failed after the use case")
    assert _reports() == []  # also on SQLite, where the report's savepoint opens the transaction
    assert queue.jobs == []


def test_a_savepoint_released_after_an_enqueue_does_not_start_the_job(env: Path) -> None:
    """SQLAlchemy fires after_commit when a SAVEPOINT is released: a job enqueued before a later savepoint
    (a second report, a second SMS, a view's own savepoint) must still wait for the real commit."""
    queue = Recorder()
    jobs.set_queue(queue)
    with session_scope() as s:
        first = accept(s, ReportIn(channel="sms", external_id="SM-uow-sp1", text="路灯不亮")).report
        with s.begin_nested():
            accept(s, ReportIn(channel="sms", external_id="SM-uow-sp2", text="井盖丢了"))
        assert queue.jobs == []  # released, not committed: nobody could read the rows yet
    assert queue.jobs[0] == (JobName.PROCESS_REPORT, (first.id,)) and len(queue.jobs) == 2


def test_a_duplicate_leaves_the_callers_session_usable(env: Path) -> None:
    jobs.set_queue(Recorder())
    with session_scope() as s:
        first = accept(s, ReportIn(channel="sms", external_id="SM-uow-3", text="路灯不亮")).report
    with session_scope() as s:
        again = accept(s, ReportIn(channel="sms", external_id="SM-uow-3", text="路灯不亮"))
        other = accept(s, ReportIn(channel="sms", external_id="SM-uow-4", text="井盖丢了"))
    assert not again.created and again.report.id == first.id and other.created
    assert len(_reports()) == 2


class _SeesCommitted(Response):
    """A response that, as it is being sent, looks with another session for what the handler stored."""

    seen: list[int] = []

    def __init__(self, external_id: str) -> None:
        super().__init__()
        self.external_id = external_id

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        with session_scope() as s:
            found = s.exec(select(Report).where(Report.external_id == self.external_id)).all()
        _SeesCommitted.seen.append(len(found))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


def test_a_request_is_committed_before_its_response_is_sent(env: Path) -> None:
    jobs.set_queue(Recorder())
    app = FastAPI()

    @app.post("/store")
    def store(session: DbSession) -> Response:
        accept(session, ReportIn(channel="web", external_id="uow-web-1", text="路灯不亮"))
        return _SeesCommitted("uow-web-1")

    @app.post("/fail")
    def fail(session: DbSession) -> None:
        accept(session, ReportIn(channel="web", external_id="uow-web-2", text="路灯不亮"))
        raise RuntimeError("the handler failed")

    _SeesCommitted.seen.clear()
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.post("/store").status_code == 200
        assert client.post("/fail").status_code == 500
    assert _SeesCommitted.seen == [1]
    assert [r.external_id for r in _reports()] == ["uow-web-1"]


def test_a_block_that_caught_a_failed_flush_ends_without_an_error(env: Path) -> None:
    from sqlalchemy.exc import IntegrityError

    from intake.telephony.models import SmsOptOut

    with session_scope() as s:
        s.add(SmsOptOut(phone="+8613800138000"))
    with session_scope() as s:
        s.add(SmsOptOut(phone="+8613800138000"))
        with pytest.raises(IntegrityError):
            s.flush()
    with session_scope() as s:
        assert len(s.exec(select(SmsOptOut)).all()) == 1
