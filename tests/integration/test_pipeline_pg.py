"""The whole pipeline on PostgreSQL + Redis + RQ with real server and worker processes."""

from __future__ import annotations

import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import psycopg
import pytest
from sqlmodel import select

from cases.db import session_scope
from cases.models import Case, Report
from tests.conftest import free_port
from tests.integration.conftest import Procs, serving, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def case_of(base: str, report_id: int, headers: dict[str, str]) -> dict[str, object] | None:
    rep = httpx.get(f"{base}/api/v1/reports/{report_id}", headers=headers, timeout=5).json()
    if not rep["case_number"]:
        return None
    case: dict[str, object] = httpx.get(f"{base}/api/v1/cases/{rep['case_number']}", headers=headers, timeout=5).json()
    return case


def test_report_becomes_dispatched_case_with_separate_worker(
    server: str,
    procs: Procs,
    prod_env: dict[str, str],
    tmp_path: Path,
    api_headers: dict[str, str],
) -> None:
    procs.start(["worker"], prod_env, tmp_path / "worker.log")
    r = httpx.post(
        f"{server}/api/v1/reports",
        json={"external_id": "it-1", "text": "胜利街菜场门口有人占道经营"},
        headers=api_headers,
    )
    assert r.status_code == 202
    case = wait_until(lambda: case_of(server, r.json()["report_id"], api_headers), 30, "case")
    assert isinstance(case, dict)
    assert case["status"] == "dispatched"
    assert case["department"] == {"code": "enforcement", "name": "区城市管理执法大队"}
    wait_until(lambda: httpx.get(f"{server}/readyz").status_code == 200, 30, "the worker's liveness beat")
    assert httpx.get(f"{server}/readyz").json()["checks"] == {"database": "ok", "redis": "ok", "workers": "1 live"}


def test_concurrent_duplicate_posts_make_one_report_and_one_case(
    server: str,
    procs: Procs,
    prod_env: dict[str, str],
    tmp_path: Path,
    api_headers: dict[str, str],
) -> None:
    procs.start(["worker"], prod_env, tmp_path / "worker1.log")
    procs.start(["worker"], prod_env, tmp_path / "worker2.log")
    body = {"external_id": "dup-1", "text": "青砖湖公园门口垃圾满溢"}

    def post(_: int) -> httpx.Response:
        return httpx.post(f"{server}/api/v1/reports", json=body, headers=api_headers, timeout=30)

    with ThreadPoolExecutor(16) as pool:
        responses = list(pool.map(post, range(32)))
    assert {r.status_code for r in responses} <= {200, 202}
    assert sum(r.status_code == 202 for r in responses) == 1
    assert len({r.json()["report_id"] for r in responses}) == 1
    wait_until(lambda: case_of(server, responses[0].json()["report_id"], api_headers), 30, "case")
    time.sleep(1.5)  # let any stray duplicate job finish before counting
    with session_scope() as s:
        assert len(s.exec(select(Report)).all()) == 1
        assert len(s.exec(select(Case)).all()) == 1


def test_redis_down_at_intake_then_sweeper_recovers(
    prod_env: dict[str, str], procs: Procs, tmp_path: Path, api_headers: dict[str, str]
) -> None:
    # A Redis of our own, so it can be stopped without disturbing anyone else.
    rport = free_port()
    redis_cmd = ["redis-server", "--port", str(rport), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    rds = subprocess.Popen(redis_cmd, stdout=subprocess.DEVNULL)
    env = {**prod_env, "HOTLINE_REDIS_URL": f"redis://127.0.0.1:{rport}/0"}
    try:
        port = free_port()
        procs.start(["serve", "--port", str(port)], env, tmp_path / "serve.log")
        base = f"http://127.0.0.1:{port}"
        wait_until(lambda: serving(base), 60, "server")
        rds.terminate()
        rds.wait(10)
        assert httpx.get(f"{base}/readyz").status_code == 503
        r = httpx.post(
            f"{base}/api/v1/reports",
            json={"external_id": "down-1", "text": "考棚街路灯不亮"},
            headers=api_headers,
            timeout=30,
        )
        assert r.status_code == 202, r.text  # stored and acknowledged although the queue is gone
        rid = r.json()["report_id"]
        assert case_of(base, rid, api_headers) is None

        rds = subprocess.Popen(redis_cmd, stdout=subprocess.DEVNULL)
        wait_until(lambda: serving(base), 30, "redis back")
        procs.start(["worker"], env, tmp_path / "worker.log")  # its sweeper finds the orphan
        case = wait_until(lambda: case_of(base, rid, api_headers), 40, "case after sweep")
        assert isinstance(case, dict) and case["status"] == "dispatched"
    finally:
        rds.terminate()
        rds.wait(10)


def test_worker_killed_mid_job_still_one_case(
    server: str,
    procs: Procs,
    prod_env: dict[str, str],
    pg_url: str,
    tmp_path: Path,
    api_headers: dict[str, str],
) -> None:
    r = httpx.post(
        f"{server}/api/v1/reports", json={"external_id": "kill-1", "text": "东门菜市场暴露垃圾"}, headers=api_headers
    )
    rid = r.json()["report_id"]
    dsn = pg_url.replace("postgresql+psycopg://", "postgresql://")
    day = datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y%m%d")
    with psycopg.connect(dsn) as blocker:
        # Hold today's case-number counter: the worker's job locks the report, classifies, routes, then
        # blocks when it numbers the new case — mid-job, inside its transaction.
        blocker.execute("INSERT INTO case_counter (day, last) VALUES (%s, 0) ON CONFLICT DO NOTHING", (day,))
        blocker.commit()
        blocker.execute("SELECT day FROM case_counter WHERE day = %s FOR UPDATE", (day,))
        w1 = procs.start(["worker", "--no-sweep"], prod_env, tmp_path / "worker1.log")

        def attempt_started() -> bool:
            with psycopg.connect(dsn, autocommit=True) as c:
                row = c.execute("SELECT attempts, processing_status FROM report WHERE id = %s", (rid,)).fetchone()
            return bool(row and row[0] == 1 and row[1] == "processing")

        wait_until(attempt_started, 30, "worker to start the job")
        time.sleep(1)  # well inside the job by now, waiting on the counter
        Procs.kill(w1)  # SIGKILL to the worker and its scheduler: no clean shutdown
        w1.wait(10)
        blocker.rollback()
    assert case_of(server, rid, api_headers) is None
    procs.start(["worker"], prod_env, tmp_path / "worker2.log")
    case = wait_until(lambda: case_of(server, rid, api_headers), 40, "case after the killed worker")
    assert isinstance(case, dict) and case["status"] == "dispatched"
    time.sleep(2)
    with session_scope() as s:
        assert len(s.exec(select(Case)).all()) == 1
        report = s.get(Report, rid)
        assert report is not None and report.attempts == 2
