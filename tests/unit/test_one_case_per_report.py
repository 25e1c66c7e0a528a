"""Exactly one case per report on SQLite, whoever runs the pipeline and however often (issue 12, defect 1).

The SMS handler opens the case inline (the reply carries its number) while the embedded default's
in-process queue runs the same job; nothing else serialised the two on SQLite."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import col, select

from cases import jobs
from cases.db import session_scope
from cases.models import Case, CaseEvent, Report
from cases.settings import kernel_settings
from hotline.queues import InProcessQueue
from tests import telephony_fixtures as tf
from tests.twilio_standin import TwilioStandIn

standin, twilio_env = tf.standin, tf.twilio_env  # fixtures


@pytest.fixture
def inprocess(twilio_env: TwilioStandIn) -> Iterator[InProcessQueue]:
    """The embedded default's real job thread, on the test's SQLite file."""
    assert kernel_settings().database_url.startswith("sqlite:///") and "memory" not in kernel_settings().database_url
    q = InProcessQueue(kernel_settings())
    jobs.set_queue(q)
    yield q
    q.join(30)
    q.stop()
    jobs.set_queue(None)


@pytest.fixture
def app_client(inprocess: InProcessQueue) -> Iterator[TestClient]:
    from hotline.app import create_app

    with TestClient(create_app(queue=inprocess)) as c:
        yield c


def _slow_classifier(monkeypatch: pytest.MonkeyPatch, seconds: float = 0.05) -> None:
    """Classification takes a while, as the real model does on a busy machine: both runners overlap."""
    import time

    import routing.pipeline as pipeline

    inner = pipeline.get_classifier()

    class Slow:
        def classify(self, facts: Any) -> Any:
            time.sleep(seconds)
            return inner.classify(facts)

    monkeypatch.setattr(pipeline, "get_classifier", lambda: Slow())


def test_three_sms_from_three_phones_make_three_cases(
    app_client: TestClient, inprocess: InProcessQueue, monkeypatch: pytest.MonkeyPatch
) -> None:
    _slow_classifier(monkeypatch)
    phones = ["+8613911110001", "+8613911110002", "+8613911110003"]
    replies = [tf.send_sms(app_client, "东门菜市场附近有暴露垃圾，好几天没人清理", p) for p in phones]
    inprocess.join(30)
    with session_scope() as s:
        cases = s.exec(select(Case)).all()
        reports = s.exec(select(Report).order_by(col(Report.id))).all()
        assert len(reports) == 3
        assert len(cases) == 3, f"{len(cases)} cases for 3 SMS reports"
        for report, reply, phone in zip(reports, replies, phones, strict=True):
            assert report.phone == phone and report.case_id is not None
            case = s.get(Case, report.case_id)
            assert case is not None
            # The number the resident is texted is the case that holds their report.
            assert case.number in reply, (case.number, reply)
        assert {r.case_id for r in reports} == {c.id for c in cases}  # no case without its report
    # A follow-up lands on the case the resident was told about.
    first_number = next(c.number for c in cases if c.id == reports[0].case_id)
    follow = tf.send_sms(app_client, "补充：在北门那边", phones[0])
    assert first_number in follow


def _report(external_id: str, text: str = "胜利街菜场门口有人占道经营", **extra: Any) -> int:
    """Store a report through the door every channel adapter uses (`intake.core.accept`), so a test can
    give it another adapter's channel or hints; the internal API's own checks are in test_api_trust.py."""
    from intake.core import accept
    from intake.schemas import ReportIn

    with session_scope() as s:
        report = accept(s, ReportIn(channel=extra.pop("channel", "api"), external_id=external_id, text=text, **extra))
        assert report.created and report.report.id is not None
        return report.report.id


class NoQueue:
    """Stores nothing, runs nothing: the test itself runs the pipeline."""

    def enqueue(self, func_path: str, *args: Any) -> None:
        pass


def test_process_report_from_many_threads_makes_one_case(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from routing.pipeline import process_report

    jobs.set_queue(NoQueue())
    _slow_classifier(monkeypatch, 0.02)
    ids = [_report(f"threads-{i}") for i in range(4)]
    barrier = threading.Barrier(6)

    def run(rid: int) -> str | None:
        barrier.wait()
        return process_report(rid)

    for rid in ids:
        with ThreadPoolExecutor(6) as pool:
            numbers = list(pool.map(run, [rid] * 6))
        with session_scope() as s:
            report = s.get(Report, rid)
            assert report is not None and report.case_id is not None
            case = s.get(Case, report.case_id)
            assert case is not None
            assert set(numbers) == {case.number}  # every runner returns the case that holds the report
    with session_scope() as s:
        assert len(s.exec(select(Case)).all()) == len(ids)
        opened = s.exec(select(CaseEvent).where(CaseEvent.action == "register")).all()
        assert len(opened) == len(ids)


def _run_in_process(db_url: str, var_dir: str, rid: int, start_at: float) -> str | None:
    import os
    import time

    os.environ["HOTLINE_DATABASE_URL"] = db_url
    os.environ["HOTLINE_VAR_DIR"] = var_dir
    from hotline.settings import reset_settings

    reset_settings()
    from hotline.queues import SyncQueue

    jobs.set_queue(SyncQueue(raise_errors=False))
    from routing.pipeline import process_report

    time.sleep(max(0.0, start_at - time.time()))
    return process_report(rid)


def test_process_report_from_several_processes_makes_one_case(client: TestClient) -> None:
    """A CLI process (`hotline jobs retry`) and the server on the same SQLite file."""
    import multiprocessing as mp
    import time

    from routing.pipeline import routing_table

    jobs.set_queue(NoQueue())
    rid = _report("procs-1")
    routing_table()
    s = kernel_settings()
    start_at = time.time() + 4  # after every child has imported the model
    ctx = mp.get_context("spawn")
    with ctx.Pool(3) as pool:
        numbers = pool.starmap(_run_in_process, [(s.database_url, str(s.var_dir), rid, start_at)] * 3)
    with session_scope() as sess:
        cases = sess.exec(select(Case)).all()
        assert len(cases) == 1
        assert set(numbers) == {cases[0].number}


def test_camera_and_resident_of_one_matter_processed_at_once_make_one_case(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from routing.pipeline import process_report

    jobs.set_queue(NoQueue())
    _slow_classifier(monkeypatch, 0.02)
    grid = "421102001001001"
    cam = _report(
        "cam-1",
        "摄像头识别：暴露垃圾",
        channel="camera",
        hints={"category_code": "06010", "camera_grid_code": grid},
    )
    web = _report("web-1", "东门菜市场附近有暴露垃圾，好几天没人清理", channel="web")
    barrier = threading.Barrier(2)

    def run(rid: int) -> str | None:
        barrier.wait()
        return process_report(rid)

    with ThreadPoolExecutor(2) as pool:
        numbers = list(pool.map(run, [cam, web]))
    with session_scope() as s:
        a, b = s.get(Report, cam), s.get(Report, web)
        assert a is not None and b is not None and a.case_id is not None and a.case_id == b.case_id
        case = s.get(Case, a.case_id)
        assert case is not None and numbers == [case.number, case.number]


@pytest.mark.parametrize("hint", ["abc", [1], True, 10**30])
def test_unusable_link_hint_is_routed_not_failed(client: TestClient, hint: Any) -> None:
    """A link hint that names no case (or is no id) does not fail the job until the report is given up."""
    rid = _report(f"hint-{uuid.uuid4().hex}", hints={"link_case_id": hint})
    with session_scope() as s:
        report = s.get(Report, rid)
        assert report is not None and report.case_id is not None and report.processing_status == "done"
