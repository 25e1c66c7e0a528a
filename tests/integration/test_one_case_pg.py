"""Exactly one case per report (and per linked group) on PostgreSQL, however many runners (defect 1)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlmodel import select

from cases import jobs
from cases.db import session_scope
from cases.models import Case, Report
from intake.core import accept
from intake.schemas import ReportIn

pytestmark = [pytest.mark.integration]

GRID = "421102001001001"


class NoQueue:
    def enqueue(self, func_path: str, *args: Any) -> None:
        pass


@pytest.fixture
def pg(prod_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """PostgreSQL, jobs not run by anyone but the test; classification slow enough that runners overlap."""
    import routing.pipeline as pipeline
    from tests.keyword_classifier import KeywordClassifier

    kw = KeywordClassifier.from_reference_data()

    class Slow:
        def classify(self, facts: Any) -> Any:
            time.sleep(0.02)
            return kw.classify(facts)

    monkeypatch.setattr(pipeline, "get_classifier", lambda: Slow())
    jobs.set_queue(NoQueue())
    yield
    jobs.set_queue(None)


def _store(channel: str, external_id: str, text: str, **hints: Any) -> int:
    with session_scope() as s:
        rid = accept(s, ReportIn(channel=channel, external_id=external_id, text=text, hints=hints)).report.id
    assert rid is not None
    return rid


def _together(fns: list[Callable[[], str | None]]) -> list[str | None]:
    barrier = threading.Barrier(len(fns))

    def run(fn: Callable[[], str | None]) -> str | None:
        barrier.wait()
        return fn()

    with ThreadPoolExecutor(len(fns)) as pool:
        return list(pool.map(run, fns))


def test_same_report_from_many_threads_makes_one_case(pg: None) -> None:
    from routing.pipeline import process_report

    ids = [_store("api", f"pg-threads-{i}", "胜利街菜场门口有人占道经营") for i in range(4)]
    for rid in ids:
        numbers = _together([lambda rid=rid: process_report(rid)] * 6)  # type: ignore[misc]
        with session_scope() as s:
            report = s.get(Report, rid)
            assert report is not None and report.case_id is not None
            case = s.get(Case, report.case_id)
            assert case is not None and set(numbers) == {case.number}
    with session_scope() as s:
        assert len(s.exec(select(Case)).all()) == len(ids)


def test_camera_and_resident_of_one_matter_processed_at_once_make_one_case(pg: None) -> None:
    from routing.pipeline import process_report

    for i in range(3):
        cam = _store("camera", f"pg-cam-{i}", "摄像头识别：暴露垃圾", category_code="06010", camera_grid_code=GRID)
        web = _store("web", f"pg-web-{i}", "东门菜市场附近有暴露垃圾，好几天没人清理")
        numbers = _together([lambda c=cam: process_report(c), lambda w=web: process_report(w)])  # type: ignore[misc]
        with session_scope() as s:
            a, b = s.get(Report, cam), s.get(Report, web)
            assert a is not None and b is not None and a.case_id is not None
            assert a.case_id == b.case_id, f"round {i}: camera and resident reports in two cases"
            case = s.get(Case, a.case_id)
            assert case is not None and numbers == [case.number, case.number]
            case.status = "closed"  # the next round's pair must not join this one
            s.add(case)
            s.commit()


def test_same_report_from_several_processes_makes_one_case(pg: None) -> None:
    """Two workers (or a worker and a CLI process) running the same report at the same moment."""
    import multiprocessing as mp

    from cases.settings import kernel_settings
    from tests.unit.test_one_case_per_report import _run_in_process

    rid = _store("api", "pg-procs-1", "胜利街菜场门口有人占道经营")
    s = kernel_settings()
    start_at = time.time() + 6  # after every child has loaded the model
    with mp.get_context("spawn").Pool(3) as pool:
        numbers = pool.starmap(_run_in_process, [(s.database_url, str(s.var_dir), rid, start_at)] * 3)
    with session_scope() as sess:
        cases = sess.exec(select(Case)).all()
        assert len(cases) == 1 and set(numbers) == {cases[0].number}
