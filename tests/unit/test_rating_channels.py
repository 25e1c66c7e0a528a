"""One rating rule on every channel: the same rating of a case in the same status gives the same outcome,
status and event whether it comes from the track page, the survey call or the use case itself (as the
console will call it). The rule (cases.rating) is written out here once more, as a table, so changing it
is a decision a test has to be told about."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlmodel import col, select

from cases.db import session_scope
from cases.lifecycle import CaseStatus
from cases.models import Case, CaseEvent
from cases.rating import record_rating
from intake.core import accept
from intake.ratelimit import reset_limiter
from intake.schemas import ReportIn
from intake.tracking import issue_token
from routing.pipeline import process_report
from tests import telephony_fixtures as tf
from tests.telephony_fixtures import scripted, simulator
from tests.twilio_standin import TwilioStandIn

standin, twilio_env = tf.standin, tf.twilio_env  # fixtures

S = CaseStatus
# (status, rating) → (the rating event's action, the status right after it); None: the rating is refused.
RULE: dict[tuple[CaseStatus, str], tuple[str, CaseStatus] | None] = {}
for status in CaseStatus:
    for code in ("satisfied", "basic", "unsatisfied"):
        RULE[status, code] = None
for code in ("satisfied", "basic"):
    RULE[S.HANDLED, code] = ("note", S.HANDLED)
    RULE[S.VERIFIED, code] = ("survey", S.SURVEYED)
    RULE[S.SURVEYED, code] = ("note", S.SURVEYED)
    RULE[S.CLOSED, code] = ("note", S.CLOSED)
RULE[S.HANDLED, "unsatisfied"] = ("note", S.HANDLED)  # noted for the verifier: 核实 decides
for status in (S.VERIFIED, S.SURVEYED, S.CLOSED):
    RULE[status, "unsatisfied"] = ("reopen", S.REOPENED)

DIGITS = {"satisfied": "1", "basic": "2", "unsatisfied": "3"}


def _case_in(status: CaseStatus) -> tuple[int, int]:
    """A reported case (with its reporter's phone) put straight into `status`: (case id, report id)."""
    with session_scope() as s:
        report = accept(
            s,
            ReportIn(
                channel="sms", external_id=f"SM{uuid.uuid4().hex}", text="东门菜市场附近有暴露垃圾", phone="13800138000"
            ),
        ).report
    assert report.id is not None
    process_report(report.id)
    with session_scope() as s:
        case = s.exec(select(Case)).one()
        case.status = status.value
        s.add(case)
        assert case.id is not None
        return case.id, report.id


def _by_web(client: TestClient, case_id: int, report_id: int, code: str) -> None:
    with session_scope() as s:
        token = issue_token(s, report_id)
    assert client.get(f"/h5/t/{token}").status_code == 200
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/h5/track").text)
    assert csrf
    r = client.post(
        "/h5/track/rate", data={"csrf_token": csrf.group(1), "t": token, "rating": code, "comment": "还是没清走"}
    )
    assert r.status_code in (200, 409)


def _by_survey_call(client: TestClient, case_id: int, report_id: int, code: str) -> None:
    sim = simulator(client, from_number="+8671312319", to_number="+8613800138000")
    answers = (DIGITS[code], "还是没清走") if code == "unsatisfied" else (DIGITS[code],)
    sim.run(
        scripted(*answers),
        start=f"/twilio/voice/survey/ask?case_id={case_id}",
        first={"CallStatus": "in-progress", "Direction": "outbound-api"},
    )


def _by_use_case(client: TestClient, case_id: int, report_id: int, code: str) -> None:
    with session_scope() as s:
        case = s.get(Case, case_id)
        assert case is not None
        record_rating(s, case, code, actor="agent:li", channel="console", comment="还是没清走", source="回访")


CHANNELS: dict[str, Callable[[TestClient, int, int, str], None]] = {
    "web": _by_web,
    "survey_call": _by_survey_call,
    "use_case": _by_use_case,
}


@pytest.mark.parametrize("code", ["satisfied", "basic", "unsatisfied"])
@pytest.mark.parametrize("status", list(CaseStatus))
@pytest.mark.parametrize("channel", sorted(CHANNELS))
def test_the_same_rating_means_the_same_on_every_channel(
    client: TestClient, twilio_env: TwilioStandIn, channel: str, status: CaseStatus, code: str
) -> None:
    reset_limiter()
    case_id, report_id = _case_in(status)
    CHANNELS[channel](client, case_id, report_id, code)
    with session_scope() as s:
        events = s.exec(select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(col(CaseEvent.id))).all()
        rated = [e for e in events if e.data.get("rating")]
        expected = RULE[status, code]
        if expected is None:
            assert rated == []
            case = s.get(Case, case_id)
            assert case is not None and case.status == status.value
            return
        action, after = expected
        [event] = rated
        # The status the rating left; later events (a reopened case's re-dispatch) follow from it.
        assert (event.action, event.from_status, event.to_status) == (action, status.value, after.value)
        assert event.data["rating_code"] == code
