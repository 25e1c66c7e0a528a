"""A worker outlives Redis going away in the middle of a job (defect 6), and `/readyz` says whether any
worker is live. The test's own Redis; the shared one is never stopped."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import psycopg
import pytest
from sqlmodel import select

from cases.db import session_scope
from cases.models import Case
from tests.conftest import free_port
from tests.integration.conftest import Procs, serving, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]


class OwnRedis:
    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        cmd = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
        wait_until(
            lambda: (
                subprocess.run(
                    ["redis-cli", "-p", str(self.port), "ping"], capture_output=True, text=True
                ).stdout.strip()
                == "PONG"
            ),
            10,
            "redis up",
        )

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)
            self.proc = None


@pytest.fixture
def own_redis() -> Iterator[OwnRedis]:
    r = OwnRedis()
    r.start()
    yield r
    r.stop()


def _case_number(base: str, rid: int, headers: dict[str, str]) -> str | None:
    number = httpx.get(f"{base}/api/v1/reports/{rid}", headers=headers, timeout=5).json()["case_number"]
    return str(number) if number else None


def test_worker_survives_redis_dying_mid_job_and_readyz_tells(
    prod_env: dict[str, str], procs: Procs, own_redis: OwnRedis, pg_url: str, tmp_path: Path, api_key: str
) -> None:
    key = {"Authorization": f"Bearer {api_key}"}
    env = {**prod_env, "HOTLINE_REDIS_URL": own_redis.url}
    port = free_port()
    procs.start(["serve", "--port", str(port)], env, tmp_path / "serve.log")
    base = f"http://127.0.0.1:{port}"
    wait_until(lambda: serving(base), 60, "server")
    assert httpx.get(f"{base}/readyz").status_code == 503  # no worker yet: nothing would be processed
    assert httpx.get(f"{base}/readyz").json()["checks"]["workers"] == "none live"

    worker = procs.start(["worker", "--no-sweep"], env, tmp_path / "worker.log")
    wait_until(lambda: httpx.get(f"{base}/readyz").status_code == 200, 60, "worker live")

    dsn = pg_url.replace("postgresql+psycopg://", "postgresql://")
    day = datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y%m%d")
    r = httpx.post(
        f"{base}/api/v1/reports", json={"external_id": "mid-1", "text": "东门菜市场暴露垃圾"}, headers=key, timeout=10
    )
    rid = r.json()["report_id"]
    with psycopg.connect(dsn) as blocker:
        # Hold today's case-number counter: the job blocks mid-way, inside its transaction.
        blocker.execute("INSERT INTO case_counter (day, last) VALUES (%s, 0) ON CONFLICT DO NOTHING", (day,))
        blocker.commit()
        blocker.execute("SELECT day FROM case_counter WHERE day = %s FOR UPDATE", (day,))

        def job_started() -> bool:
            with psycopg.connect(dsn, autocommit=True) as c:
                row = c.execute("SELECT processing_status FROM report WHERE id = %s", (rid,)).fetchone()
            return bool(row and row[0] == "processing")

        wait_until(job_started, 30, "the worker to start the job")
        own_redis.stop()  # Redis dies while the job runs; the job then finishes with Redis gone
        blocker.rollback()
    wait_until(lambda: _case_number(base, rid, key), 30, "the mid-job report's case")
    time.sleep(3)  # the job's bookkeeping hits the dead Redis; RQ's loop ends, and its death handler fails
    own_redis.start()
    assert worker.poll() is None, "the worker exited when Redis went away"

    r2 = httpx.post(
        f"{base}/api/v1/reports", json={"external_id": "after-1", "text": "考棚街路灯不亮"}, headers=key, timeout=10
    )
    assert r2.status_code == 202
    wait_until(lambda: _case_number(base, r2.json()["report_id"], key), 60, "a case from the surviving worker")
    wait_until(lambda: httpx.get(f"{base}/readyz").status_code == 200, 30, "readyz after Redis is back")
    assert worker.poll() is None

    Procs.kill(worker)  # every worker gone: /readyz must say so (the beat ages out)
    worker.wait(10)
    wait_until(lambda: httpx.get(f"{base}/readyz").status_code == 503, 40, "readyz to notice no worker")
    body = httpx.get(f"{base}/readyz")
    assert body.headers["content-type"].startswith("application/problem+json")
    assert "workers" in body.json()["detail"]
    with session_scope() as s:
        assert len(s.exec(select(Case)).all()) == 2

    # With no worker at all the sweeper still runs (in the web node): a report whose enqueue failed
    # (Redis down at intake) is put on the queue once Redis is back, ready for the next worker.
    own_redis.stop()
    r3 = httpx.post(
        f"{base}/api/v1/reports", json={"external_id": "orphan-1", "text": "胜利街占道经营"}, headers=key, timeout=10
    )
    assert r3.status_code == 202
    own_redis.start()
    import redis as redis_lib

    queue_key = f"rq:queue:{prod_env['HOTLINE_QUEUE_NAME']}"
    wait_until(lambda: redis_lib.Redis.from_url(own_redis.url).llen(queue_key) > 0, 30, "the sweeper to enqueue")
    procs.start(["worker"], env, tmp_path / "worker2.log")
    wait_until(lambda: _case_number(base, r3.json()["report_id"], key), 60, "the orphan's case")
