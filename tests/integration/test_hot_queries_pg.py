"""Issue 17, item 4: every SELECT the hot paths run — intake and its duplicate check, the pipeline, the
agents' queue, the case page, the supervisors' 概览, 督办 list and hotspots — can be served by an index on
the big tables. Each statement is recorded as the real code runs it on PostgreSQL, then EXPLAINed (FORMAT
JSON) with `enable_seqscan = off`: the planner then scans a table sequentially only when no index can
serve the query at all, whatever the row counts, so a Seq Scan of one of BIG is a missing index."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, text

from cases.db import get_engine
from tests.console_helpers import login, make_user
from tests.integration.test_case_page_pg import many_cases  # noqa: F401  (the fixture: 60,000 cases and reports)

pytestmark = [pytest.mark.integration]

BIG = ("report", "case", "case_event", "sla_clock", "routing_decision")
PAGES = {
    "agent": ["/console/", "/console/cases/12319-T-00030001"],
    "supervisor": ["/supervisor/", "/supervisor/supervision", "/supervisor/hotspots"],
}


def _nodes(plan: Any) -> Iterator[dict[str, Any]]:
    node = plan[0]["Plan"] if isinstance(plan, list) else plan
    yield node
    for child in node.get("Plans", []):
        yield from _nodes(child)


def _seq_scans(statements: list[tuple[str, Any]]) -> list[str]:
    found = []
    with get_engine().connect() as conn:
        conn.exec_driver_sql("SET enable_seqscan = off")
        for statement, params in statements:
            plan = conn.exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement, params).scalar_one()
            for node in _nodes(plan):
                if node["Node Type"] == "Seq Scan" and node["Relation Name"] in BIG:
                    found.append(f"{node['Relation Name']}: {' '.join(statement.split())[:400]}")
        conn.rollback()
    return found


def test_the_hot_queries_are_served_by_indexes(many_cases: None, api_key: str) -> None:  # noqa: F811
    from hotline.app import create_app
    from hotline.queues import SyncQueue

    make_user("li_hot", "agent")
    make_user("zhao_hot", "supervisor")
    engine = get_engine()
    seen: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "WITH")) and not many:
            seen.append((statement, params))

    with TestClient(create_app(queue=SyncQueue())) as client:  # the pipeline runs right after commit
        report = {"channel": "api", "external_id": "hot-1", "text": "东门菜市场门口暴露垃圾没人清理"}
        headers = {"Authorization": f"Bearer {api_key}"}
        assert client.post("/api/v1/reports", json=report, headers=headers).status_code == 202  # warm
        clients = {}
        for role, user in (("agent", "li_hot"), ("supervisor", "zhao_hot")):
            clients[role] = TestClient(client.app)
            login(clients[role], user)
            for page in PAGES[role]:
                assert clients[role].get(page).status_code == 200, page  # warm: names, maps, routing table
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
        event.listen(engine, "before_cursor_execute", record)
        try:
            report["external_id"] = "hot-2"
            assert client.post("/api/v1/reports", json=report, headers=headers).status_code == 202
            assert client.post("/api/v1/reports", json=report, headers=headers).status_code == 200  # the dup check
            for role, pages in PAGES.items():
                for page in pages:
                    assert clients[role].get(page).status_code == 200, page
        finally:
            event.remove(engine, "before_cursor_execute", record)
    assert len(seen) >= 30, len(seen)
    scans = _seq_scans(seen)
    assert not scans, "\n".join(scans)
