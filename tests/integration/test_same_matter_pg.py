"""一事多诉's query on PostgreSQL with many cases: the open cases of one matter near a report are read
through the partial index ix_case_open_matter (no sequential scan of case or report), and the pipeline
proposes a resident's duplicate there as it does on SQLite."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, text

from cases.db import get_engine, session_scope
from cases.linking import MatterRules, Sighting, find_same_matter
from cases.models import utcnow

pytestmark = [pytest.mark.integration]

CASES = 60_000
GRID = "421102001001001"


@pytest.fixture
def many_cases(prod_env: dict[str, str]) -> None:
    """60,000 cases over four categories, 26 grids and 400 days, half of them closed, each with a report."""
    with get_engine().begin() as conn:
        conn.execute(
            text(
                """
                INSERT INTO "case" (number, title, category_code, grid_code, grade, status, needs_review,
                                    created_at, updated_at)
                SELECT '12319-D-' || lpad(g::text, 8, '0'), 'case ' || g,
                       (ARRAY['06010','06011','09006','06015'])[1 + g % 4], grids.codes[1 + g % 26], 'normal',
                       (ARRAY['registered','dispatched','closed','closed','closed','in_progress'])[1 + g % 6], false,
                       now() - (g % 400) * interval '1 day' - interval '1 hour', now()
                FROM generate_series(1, :n) g, (SELECT array_agg(code ORDER BY code) AS codes FROM grid) grids
                """
            ),
            {"n": CASES},
        )
        conn.execute(
            text(
                """
                INSERT INTO report (channel, external_id, received_at, raw, text, phone, lat, lon, attachments,
                                    hints, case_id, processing_status, attempts)
                SELECT 'sms', 'D' || c.id, c.created_at, '{}', '东门菜场后面巷子里有一堆垃圾', NULL,
                       30.403, 114.843, '[]', '{}', c.id, 'done', 1
                FROM "case" c
                """
            )
        )
        conn.execute(text("ANALYZE"))


def _nodes(plan: Any) -> Iterator[dict[str, Any]]:
    node = plan[0]["Plan"] if isinstance(plan, list) else plan
    yield node
    for child in node.get("Plans", []):
        yield from _nodes(child)


def test_the_same_matter_is_found_through_the_partial_index(many_cases: None) -> None:
    engine = get_engine()
    seen: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, params))

    rules = MatterRules(
        window=timedelta(hours=72), link_window=timedelta(minutes=30), distance_m=50, min_similarity=0.3
    )
    near = ["421102001001002", "421102001002001"]
    event.listen(engine, "before_cursor_execute", record)
    try:
        with session_scope() as s:
            match = find_same_matter(
                s,
                Sighting("web", "东门菜场后面巷子里的垃圾还没人收", (30.403, 114.843)),
                category_code="06010",
                grid_code=GRID,
                at=utcnow(),
                rules=rules,
                near_grids=near,
                ignore=["暴露垃圾"],
            )
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert match is not None and not match.link  # an open case of yesterday, same words: proposed
    assert match.case.category_code == "06010" and match.case.status not in ("closed", "merged", "rejected")
    assert len(seen) == 2  # the open cases of the matter, then their reports
    with engine.connect() as conn:
        plans = [(st, conn.exec_driver_sql("EXPLAIN (FORMAT JSON) " + st, p).scalar_one()) for st, p in seen]
    for statement, plan in plans:
        for node in _nodes(plan):
            if node["Node Type"] == "Seq Scan":
                assert node["Relation Name"] not in ("case", "report"), statement[:300]
    cases_plan = plans[0][1]
    assert any(n.get("Index Name") == "ix_case_open_matter" for n in _nodes(cases_plan)), cases_plan


def test_the_pipeline_proposes_a_residents_duplicate_on_postgresql(prod_env: dict[str, str]) -> None:
    from sqlmodel import select

    from cases import jobs
    from cases.models import Case, CaseEvent, Report
    from hotline.queues import SyncQueue
    from intake.core import accept
    from intake.schemas import ReportIn

    jobs.set_queue(SyncQueue())
    ids = []
    for i, words in enumerate(["东门菜市场后面巷子里有一堆垃圾丢在路边", "东门菜场后面巷子里的垃圾还没人收"]):
        with session_scope() as s:
            got = accept(
                s, ReportIn(channel="web", external_id=f"dup-pg-{i}", text=words, hints={"category_code": "06010"})
            )
            ids.append(got.report.id)
    with session_scope() as s:
        first, second = (s.get(Report, rid) for rid in ids)
        assert first is not None and second is not None and first.case_id != second.case_id
        held = s.get(Case, second.case_id)
        assert held is not None and held.needs_review and held.status == "registered"
        proposed = s.exec(
            select(CaseEvent).where(CaseEvent.case_id == held.id, CaseEvent.action == "duplicate_proposed")
        ).one()
        assert proposed.data["candidate_case_id"] == first.case_id
