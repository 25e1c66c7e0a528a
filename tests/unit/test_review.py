"""The confirmation queue: a held case is confirmed or corrected, dispatched, and kept as a labelled example."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select
from typer.testing import CliRunner

from cases.db import session_scope
from cases.models import Report
from cases.service import apply_action, get_case_by_number, open_case
from classifiers.models import LabelledExample
from hotline.cli import app as cli

runner = CliRunner()


@pytest.fixture
def client(client: TestClient, api_headers: dict[str, str]) -> TestClient:
    """The app client, authenticated to /api/v1 with an intake+read+routing key."""
    client.headers.update(api_headers)
    return client


def held_case(client: TestClient, text: str = "那个门口那堆东西好几天了没人管") -> str:
    """A registered case the pipeline held for an agent, with no category (made through the kernel so the
    test does not depend on what the model guesses)."""
    with session_scope() as s:
        case = open_case(s, actor="system:pipeline", title=text)
        apply_action(s, case, "register", "system:pipeline")
        case.needs_review = True
        s.add(Report(channel="api", external_id=f"held-{text}", text=text, case_id=case.id, processing_status="done"))
        s.commit()
        number = case.number
    assert client.get(f"/api/v1/cases/{number}").json()["needs_review"] is True
    return number


def test_correct_and_dispatch_from_the_cli(client: TestClient) -> None:
    number = held_case(client)
    listed = runner.invoke(cli, ["cases", "review"])
    assert listed.exit_code == 0 and number in listed.output
    out = runner.invoke(
        cli, ["cases", "confirm", number, "--agent", "li", "--category", "06010", "--grid", "421102001001001"]
    )
    assert out.exit_code == 0, out.output
    case = client.get(f"/api/v1/cases/{number}").json()
    assert case["status"] == "dispatched" and case["department"]["code"] == "sanitation"
    assert case["needs_review"] is False
    assert [e["action"] for e in case["timeline"]][-2:] == ["correct", "dispatch"]
    assert case["timeline"][-1]["actor"] == "agent:li"
    with session_scope() as s:
        ex = s.exec(select(LabelledExample)).one()
        assert (ex.label, ex.grid_code, ex.who, ex.source) == ("06010", "421102001001001", "agent:li", "correction")
    assert number not in runner.invoke(cli, ["cases", "review"]).output


def test_confirm_refuses_what_it_cannot_do(client: TestClient) -> None:
    number = held_case(client)
    no_category = runner.invoke(cli, ["cases", "confirm", number, "--agent", "li"])
    assert no_category.exit_code == 2 and "category" in no_category.output
    bad_grid = runner.invoke(
        cli, ["cases", "confirm", number, "--agent", "li", "--category", "06010", "--grid", "999999999999999"]
    )
    assert bad_grid.exit_code == 2 and "unknown grid" in bad_grid.output
    with session_scope() as s:
        case = get_case_by_number(s, number)
        assert case is not None and case.status == "registered"
        assert s.exec(select(LabelledExample)).all() == []


def test_lifecycle_actions_from_the_cli(client: TestClient) -> None:
    number = held_case(client)
    runner.invoke(
        cli, ["cases", "confirm", number, "--agent", "li", "--category", "06010", "--grid", "421102001001001"]
    )
    for action in ["accept", "handle", "verify", "survey", "close"]:
        out = runner.invoke(cli, ["cases", "act", number, action, "--actor", "dept:sanitation"])
        assert out.exit_code == 0, out.output
    refused = runner.invoke(cli, ["cases", "act", number, "dispatch", "--actor", "agent:li"])
    assert refused.exit_code == 1 and "not allowed" in refused.output
    assert client.get(f"/api/v1/cases/{number}").json()["status"] == "closed"
