"""The case page's queries on PostgreSQL with many cases: each is served by an index (no sequential scan
of case or report), the possible duplicates by the partial index of open cases, and department staff
get 404 for another department's case by page and by API."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, text

from cases.access import EVERYONE
from cases.db import get_engine, session_scope
from tests.console_helpers import DEPARTMENT, OTHER_DEPARTMENT, login, make_user

pytestmark = [pytest.mark.integration]

CASES = 60_000


@pytest.fixture
def many_cases(prod_env: dict[str, str]) -> None:
    with get_engine().begin() as conn:
        conn.execute(
            text(
                """
                INSERT INTO "case" (number, title, category_code, grid_code, grade, department_code, status,
                                    needs_review, created_at, updated_at)
                SELECT '12319-T-' || lpad(g::text, 8, '0'), 'case ' || g,
                       (ARRAY['06010','06011','09006','06015'])[1 + g % 4], grids.codes[1 + g % 26], 'normal',
                       (ARRAY[:d1, :d2])[1 + g % 2],
                       (ARRAY['registered','dispatched','closed','closed','closed','in_progress'])[1 + g % 6], false,
                       now() - (g % 400) * interval '1 day', now()
                FROM generate_series(1, :n) g, (SELECT array_agg(code ORDER BY code) AS codes FROM grid) grids
                """
            ),
            {"n": CASES, "d1": DEPARTMENT, "d2": OTHER_DEPARTMENT},
        )
        conn.execute(
            text(
                """
                INSERT INTO report (channel, external_id, received_at, raw, text, phone, attachments, hints, case_id,
                                    processing_status, attempts)
                SELECT 'sms', 'T' || c.id, c.created_at, '{}', 'text', '+86138' || lpad((c.id % 9000)::text, 8, '0'),
                       '[]', '{}', c.id, 'done', 1
                FROM "case" c
                """
            )
        )
        conn.execute(text("ANALYZE"))


def _plans(number: str) -> list[tuple[str, Any]]:
    """EXPLAIN (FORMAT JSON) of every SELECT the case page's view model runs for `number`."""
    from agent_ui.workbench.case_view import case_page

    engine = get_engine()
    seen: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, params))

    with session_scope() as s:
        case_page(s, EVERYONE, number)  # names, grid map: built once per process
    event.listen(engine, "before_cursor_execute", record)
    try:
        with session_scope() as s:
            assert case_page(s, EVERYONE, number) is not None
    finally:
        event.remove(engine, "before_cursor_execute", record)
    with engine.connect() as conn:
        return [(st, conn.exec_driver_sql("EXPLAIN (FORMAT JSON) " + st, p).scalar_one()) for st, p in seen]


def _nodes(plan: Any) -> Iterator[dict[str, Any]]:
    node = plan[0]["Plan"] if isinstance(plan, list) else plan
    yield node
    for child in node.get("Plans", []):
        yield from _nodes(child)


def test_every_query_of_the_case_page_uses_an_index(many_cases: None) -> None:
    plans = _plans("12319-T-00030001")
    assert len(plans) >= 6
    for statement, plan in plans:
        for node in _nodes(plan):
            if node["Node Type"] == "Seq Scan":
                assert node["Relation Name"] not in ("case", "report"), statement[:200]
    duplicates = [p for st, p in plans if "UNION ALL" in st]
    assert duplicates and any(n.get("Index Name") == "ix_case_open_matter" for n in _nodes(duplicates[0]))
    repeats = [p for st, p in plans if "JOIN report" in st]
    assert repeats and any(n.get("Index Name") == "ix_report_phone" for n in _nodes(repeats[0]))


def test_department_staff_get_404_for_another_departments_case(many_cases: None) -> None:
    from hotline.app import create_app
    from hotline.queues import SyncQueue

    mine, theirs = "12319-T-00000002", "12319-T-00000001"  # even: DEPARTMENT, odd: OTHER_DEPARTMENT
    make_user("wangpg", "department")
    with TestClient(create_app(queue=SyncQueue())) as client:
        login(client, "wangpg")
        assert client.get(f"/console/cases/{mine}").status_code == 200
        assert client.get(f"/console/api/cases/{mine}").json()["department"]["code"] == DEPARTMENT
        assert client.get(f"/console/cases/{theirs}").status_code == 404
        assert client.get(f"/console/api/cases/{theirs}").status_code == 404
