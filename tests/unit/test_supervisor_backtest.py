"""The back-test page (/supervisor/rules/backtest): supervisors only; without a draft it says so and offers
nothing to run; with one it offers the run, and `?days=30` lists the totals, each draft rule's counts and
the changed cases linked to their case pages; a bad number of days is refused in Chinese (400)."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from cases.db import session_scope
from cases.reference import reference_names
from tests.backtest_fixtures import make_cases
from tests.console_helpers import login, make_user
from tests.rules_helpers import save_draft, shipped, with_actions

PAGE = "/supervisor/rules/backtest"


@pytest.fixture
def zhang(client: TestClient) -> str:
    make_user("zhang", "supervisor", display_name="张班长")
    return login(client, "zhang")


def test_only_supervisors_see_it(client: TestClient) -> None:
    make_user("li", "agent")
    login(client, "li")
    assert client.get(PAGE, follow_redirects=False).status_code in (303, 403)


def test_without_a_draft_there_is_nothing_to_run(client: TestClient, zhang: str) -> None:
    page = client.get(PAGE)
    assert page.status_code == 200 and 'id="backtest-no-draft"' in page.text
    assert 'id="backtest-form"' not in page.text
    again = client.get(PAGE + "?days=30")
    assert again.status_code == 200 and 'id="backtest-changed"' not in again.text


def test_the_draft_is_offered_then_run_over_the_last_days(client: TestClient, zhang: str) -> None:
    with session_scope() as s:
        numbers = make_cases(s)
    save_draft(with_actions(shipped(), "garbage-exposed", department="enforcement"))
    offer = client.get(PAGE)
    assert offer.status_code == 200
    assert (
        'id="backtest-form"' in offer.text and 'id="backtest-days"' in offer.text and 'id="backtest-run"' in offer.text
    )
    assert 'id="backtest-changed"' not in offer.text  # nothing runs until asked
    page = client.get(PAGE + "?days=30")
    assert page.status_code == 200
    assert re.search(r'id="backtest-cases">4<', page.text) and re.search(r'id="backtest-changed-count">2<', page.text)
    changed = page.text[page.text.index('id="backtest-changed"') :]
    for role in ("garbage", "confirmed"):
        assert f'<a href="/console/cases/{numbers[role]}">{numbers[role]}</a>' in changed
    assert numbers["building"] not in changed and numbers["garbage-old"] not in changed
    names = reference_names()
    assert f"{names.department('sanitation')} → <strong>{names.department('enforcement')}</strong>" in changed
    per_rule = page.text[page.text.index('id="backtest-per-rule"') : page.text.index('id="backtest-changed"')]
    row = re.search(r'<tr data-rule="garbage-exposed">(.*?)</tr>', per_rule, re.S)
    assert row and re.findall(r'<td class="num">(\d+)</td>', row.group(1)) == ["2", "2"]
    wider = client.get(PAGE + "?days=90")
    assert numbers["garbage-old"] in wider.text


@pytest.mark.parametrize("days", ["0", "91", "abc", "-3", "7.5", "３０"])
def test_a_bad_number_of_days_is_refused(client: TestClient, zhang: str, days: str) -> None:
    save_draft(shipped())
    page = client.get(PAGE, params={"days": days})
    assert page.status_code == 400 and "回测天数须是 1 到 90 之间的整数" in page.text
