"""Fast intake (issue 17): reports stored many per transaction, each answered only after its commit, one row
per (channel, external_id) whatever arrives together; the report's job handed to RQ off the request's path,
the sweeper taking up what that loses; the API key looked up once a second, a revocation here at once."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import col, func, select

from cases.db import session_scope
from cases.jobnames import JobName
from cases.models import Report
from cases.states import Channel
from hotline.queues import RQQueue, SyncQueue
from intake.apikeys import check_key_cached, revoke_key
from intake.core import GroupCommitter, Stored, new_report
from intake.models import ApiKey
from intake.schemas import ReportIn
from tests.conftest import make_api_key


def _report(ext: str, text: str = "胜利街垃圾桶满了") -> Report:
    return new_report(ReportIn(channel=Channel.API, external_id=ext, text=text))


def _rows(ext: str) -> int:
    with session_scope() as s:
        return int(s.exec(select(func.count()).select_from(Report).where(Report.external_id == ext)).one())


def _submit_together(committer: GroupCommitter, reports: list[Report]) -> list[Stored]:
    """Hand all of them in before the committer thread takes the first, so they share one batch."""
    committer._q.put(None)  # stop the running loop first, then feed one batch by hand
    committer._thread.join(5)
    futures = [committer.submit(r) for r in reports]
    committer._q.put(None)
    committer._run()
    return [f.result(5) for f in futures]


def test_a_batch_with_twins_and_a_retry_stores_each_report_once(sync_queue: SyncQueue) -> None:
    committer = GroupCommitter()
    try:
        first = committer.submit(_report("k1:old")).result(10)
        assert first.created
        got = _submit_together(committer, [_report("k1:new"), _report("k1:new"), _report("k1:old"), _report("k1:b")])
    finally:
        committer.stop()
    assert [g.created for g in got] == [True, False, False, True]
    assert got[0].report_id == got[1].report_id
    assert got[2].report_id == first.report_id
    assert _rows("k1:new") == _rows("k1:old") == _rows("k1:b") == 1
    # The pipeline ran once per new report, after its commit, and never for a duplicate.
    ran = [args[0] for job, args in sync_queue.ran if job == JobName.PROCESS_REPORT]
    assert sorted(ran) == sorted([first.report_id, got[0].report_id, got[3].report_id])


def test_a_bad_row_fails_only_its_own_request(sync_queue: SyncQueue) -> None:
    bad = _report("k1:bad")
    bad.text = None  # type: ignore[assignment]  # NOT NULL: the batch's INSERT fails as a whole
    committer = GroupCommitter()
    try:
        got: list[Any] = []
        committer._q.put(None)
        committer._thread.join(5)
        futures = [committer.submit(r) for r in (_report("k1:good"), bad, _report("k1:good2"))]
        committer._q.put(None)
        committer._run()
        for f in futures:
            try:
                got.append(f.result(5).created)
            except Exception as exc:
                got.append(type(exc).__name__)
    finally:
        committer.stop()
    assert got[0] is True and got[2] is True
    assert got[1] == "IntegrityError"
    assert _rows("k1:good") == _rows("k1:good2") == 1
    assert _rows("k1:bad") == 0


def test_concurrent_posts_of_one_external_id_make_one_report(client: TestClient, api_headers: dict[str, str]) -> None:
    body = {"external_id": "storm-1", "text": "东门路口积水很深"}
    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(lambda _i: client.post("/api/v1/reports", json=body, headers=api_headers), range(16)))
    assert sorted(r.status_code for r in codes).count(202) == 1, [r.status_code for r in codes]
    assert {r.json()["report_id"] for r in codes} == {codes[0].json()["report_id"]}
    with session_scope() as s:
        assert len(s.exec(select(Report).where(col(Report.external_id).like("%storm-1"))).all()) == 1


def test_rq_enqueue_leaves_the_request_and_a_lost_one_is_swept(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from rq import Queue

    from cases import jobs
    from cases.settings import kernel_settings
    from routing.pipeline import sweep

    # RQ's enqueue runs Lua scripts, which fakeredis has not: the machine's Redis, on a queue of this test's.
    q = RQQueue(kernel_settings().model_copy(update={"redis_url": "redis://127.0.0.1:6379/0"}))
    q.queue = Queue(f"test-soon-{uuid.uuid4().hex}", connection=q.connection)
    jobs.set_queue(q)
    try:
        with session_scope() as s:
            report = _report("k1:queued")
            s.add(report)
            s.flush()
            rid = report.id
        jobs.enqueue_committed(JobName.PROCESS_REPORT, rid)
        q.drain_soon()
        assert q.queue.count == 1  # sent by the flusher thread
        q.queue.empty()

        def refuse(*_a: Any, **_k: Any) -> None:
            raise ConnectionError("redis is down")

        # Redis refuses the flush: logged, nothing raised; the report is still pending, and the sweeper
        # enqueues it.
        monkeypatch.setattr(q.queue, "enqueue_many", refuse)
        jobs.enqueue_committed(JobName.PROCESS_REPORT, rid)
        q.drain_soon()
        assert q.queue.count == 0
        assert sweep(delay_seconds=0) == 1
        assert q.queue.count == 1
    finally:
        q.queue.empty()
        q.connection.delete(q.queue.key)
        jobs.set_queue(None)


def test_a_revoked_key_stops_at_once_here(env: Path) -> None:
    key = make_api_key(["intake"])
    assert check_key_cached(key) is not None
    assert check_key_cached(key) is not None  # from the cache
    with session_scope() as s:
        row = s.exec(select(ApiKey)).one()
        revoke_key(s, str(row.id))
    assert check_key_cached(key) is None
