"""The kernel's database engines: SQLite writers queue on a process lock; bookkeeping commits skip the fsync."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from cases.db import _SerialisedWriter, get_engine, session_scope
from cases.models import Report
from hotline.queues import SyncQueue
from intake.telephony import voice


def _report(i: int) -> Report:
    return Report(channel="api", external_id=f"db-test-{i}", text="暴露垃圾")


def test_durable_session_waits_for_the_disk_and_bookkeeping_does_not(env: Path) -> None:
    with session_scope() as s:
        assert s.connection().exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
    with session_scope(durable=False) as s:
        assert s.connection().exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
        assert s.connection().exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    # Both pools are on the same file and see each other's commits.
    with session_scope(durable=False) as s:
        s.add(_report(1))
        s.commit()
    with session_scope() as s:
        assert s.exec(text("SELECT count(*) FROM report WHERE external_id = 'db-test-1'")).scalar() == 1  # type: ignore[call-overload]


def test_both_pools_of_a_file_share_one_writer_lock(env: Path) -> None:
    durable = get_engine().raw_connection().dbapi_connection
    bookkeeping = get_engine(durable=False).raw_connection().dbapi_connection
    assert isinstance(durable, _SerialisedWriter) and isinstance(bookkeeping, _SerialisedWriter)
    assert durable.write_lock is bookkeeping.write_lock


def test_a_writer_holds_the_lock_until_commit_or_rollback(env: Path) -> None:
    with session_scope() as s:
        s.add(_report(2))
        s.flush()
        conn = s.connection().connection.dbapi_connection
        assert isinstance(conn, _SerialisedWriter) and conn.holds_write_lock
        lock = conn.write_lock
        assert lock.locked()
        s.commit()
        assert not conn.holds_write_lock and not lock.locked()
    with session_scope() as s:
        s.add(_report(3))
        s.flush()
        assert lock.locked()
        s.rollback()
        assert not lock.locked()
    with pytest.raises(RuntimeError), session_scope() as s:  # an exception rolls back and releases too
        s.add(_report(4))
        s.flush()
        raise RuntimeError("boom")
    assert not lock.locked()
    with session_scope() as s:  # reading takes no lock
        s.exec(text("SELECT count(*) FROM report")).all()  # type: ignore[call-overload]
        assert not lock.locked()


def test_concurrent_writers_queue_without_database_is_locked(env: Path) -> None:
    errors: list[BaseException] = []
    order: list[str] = []

    def write(i: int) -> None:
        try:
            with session_scope(durable=i % 2 == 0) as s:
                s.add(_report(100 + i))
                s.flush()
                order.append(f"in {i}")
                time.sleep(0.01)  # hold the write transaction open a while
                order.append(f"out {i}")
                s.commit()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    # One writer at a time: every "in" is followed by its own "out".
    for k in range(0, len(order), 2):
        assert order[k].replace("in", "out") == order[k + 1]
    with session_scope() as s:
        assert s.exec(text("SELECT count(*) FROM report WHERE external_id LIKE 'db-test-1%'")).scalar() == 12  # type: ignore[call-overload]


def test_the_app_loads_the_model_before_it_serves(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from fastapi.testclient import TestClient

    from hotline.app import create_app
    from hotline.settings import reset_settings

    loaded: list[str] = []
    monkeypatch.setenv("HOTLINE_WARM_UP_ON_START", "true")
    monkeypatch.setattr(voice, "_load_for_calls", lambda: loaded.append(threading.current_thread().name))
    reset_settings()
    import gc

    try:
        with TestClient(create_app(queue=SyncQueue())) as client:
            assert loaded, "loaded during start-up, before the first request"
            # ... and what start-up built is out of the garbage collector's reach (the IVR's p99 tail).
            assert gc.get_freeze_count() > 0
            assert client.get("/healthz").status_code == 200
    finally:
        gc.unfreeze()
    assert len(loaded) == 1


def test_a_failing_warm_up_does_not_stop_the_app(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from fastapi.testclient import TestClient

    from hotline.app import create_app
    from hotline.settings import reset_settings

    def broken() -> None:
        raise OSError("model file missing")

    monkeypatch.setenv("HOTLINE_WARM_UP_ON_START", "true")
    monkeypatch.setattr(voice, "_load_for_calls", broken)
    reset_settings()
    with TestClient(create_app(queue=SyncQueue())) as client:
        assert client.get("/healthz").status_code == 200


def test_serve_gives_slow_starting_workers_time(monkeypatch: pytest.MonkeyPatch, env: Path) -> None:
    import uvicorn
    from typer.testing import CliRunner

    from hotline import bootstrap
    from hotline.cli import app

    seen: dict[str, object] = {}
    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: seen.update(kw))
    monkeypatch.setattr(bootstrap, "prepare_database", lambda: {})
    monkeypatch.setenv("HOTLINE_REDIS_URL", "redis://127.0.0.1:6379/0")
    from hotline.settings import reset_settings

    reset_settings()
    result = CliRunner().invoke(app, ["serve", "--workers", "2"])
    assert result.exit_code == 0, result.output
    assert seen["workers"] == 2
    assert int(seen["timeout_worker_healthcheck"]) >= 30  # type: ignore[call-overload]
