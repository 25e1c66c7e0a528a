"""The confidence gate as a new user meets it, with the shipped model: 东门菜市场门口的垃圾堆了三天… is not
sure of its exact category (below 0.6) but every likely category goes to sanitation, so it is dispatched
without a person; a report that could be anyone's waits for an agent, held by the department's gate."""

from __future__ import annotations

from pathlib import Path

from cases.db import session_scope
from cases.models import Report
from cases.service import get_case_by_number
from routing.decision_records import latest_decision
from routing.pipeline import process_report
from routing.rules import DEFAULT_MIN_CONFIDENCE

CLEAR = "东门菜市场门口的垃圾堆了三天没人清运，臭味很大"
AMBIGUOUS = "东门菜市场门口那个东西坏了好几天了，你们派人来看看吧"


def _routed(text: str, n: int) -> tuple[str, float, float, bool, bool, str | None]:
    with session_scope() as s:
        report = Report(channel="web", external_id=f"gate-{n}", text=text, lat=30.403, lon=114.843)
        s.add(report)
        s.commit()
        rid = report.id
    number = process_report(rid or 0)
    assert number is not None
    with session_scope() as s:
        case = get_case_by_number(s, number)
        assert case is not None
        record = latest_decision(s, case.id)
        assert record is not None and record.confidence is not None
        return (case.status, case.category_confidence or 0.0, record.confidence, case.needs_review,
                bool(record.outcome.get("low_confidence")), case.department_code)  # fmt: skip


def test_a_sure_department_dispatches_although_the_category_is_unsure(env: Path) -> None:
    status, category_p, department_p, held, gated, department = _routed(CLEAR, 1)
    assert category_p < DEFAULT_MIN_CONFIDENCE  # the old gate on the category would have held it
    assert department_p >= DEFAULT_MIN_CONFIDENCE and not gated
    assert (status, held, department) == ("dispatched", False, "sanitation")


def test_a_truly_ambiguous_report_waits_for_an_agent(env: Path) -> None:
    status, _category_p, department_p, held, gated, _department = _routed(AMBIGUOUS, 2)
    assert department_p < DEFAULT_MIN_CONFIDENCE and gated
    assert status == "registered" and held
