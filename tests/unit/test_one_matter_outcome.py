"""一事多诉 from the second complaint to the last rating: intake proposes the duplicate, the case page
shows the proposal first (系统建议合并) and the agent merges with one action; from then on every reporter
of the case — each phone once, however often a job runs — is texted the outcome (Twilio stand-in), called
for the 回访, sent the rating link, listed on the callback worklist, and may rate."""

from __future__ import annotations

import re
from urllib.parse import urlparse

from fastapi.testclient import TestClient
from sqlmodel import col, select

from cases.db import session_scope
from cases.jobnames import JobName
from cases.jobs import run_now
from cases.lifecycle import Action
from cases.models import Case, CaseEvent, Report
from cases.queries import reporter_phones
from cases.rating import rated_this_round, record_rating
from cases.service import apply_action, get_case_by_number
from intake.telephony.models import AgentCall, OutboundMessage
from routing.models import CallbackAttempt
from tests import telephony_fixtures as tf
from tests.callback_cases import RESIDENT, verified_case
from tests.console_helpers import login, make_user
from tests.telephony_fixtures import scripted, simulator
from tests.twilio_standin import TwilioStandIn

standin, twilio_env = tf.standin, tf.twilio_env  # fixtures

FIRST, SECOND = "+8613911110001", "+8613911110002"
HX = {"HX-Request": "true"}


def _case(number: str) -> Case:
    with session_scope() as s:
        case = get_case_by_number(s, number)
        assert case is not None
        s.expunge(case)
        return case


def _number_of_phone(phone: str) -> str:
    with session_scope() as s:
        report = s.exec(select(Report).where(Report.phone == phone).order_by(col(Report.id).desc())).first()
        assert report is not None and report.case_id is not None
        case = s.get(Case, report.case_id)
        assert case is not None
        return case.number


def _web_report(text: str, phone: str) -> None:
    """A resident's web-form report (the category they picked), through the one door; the test's queue
    runs the pipeline and its follow-up jobs after the commit."""
    from intake.core import accept
    from intake.schemas import ReportIn

    with session_scope() as s:
        accept(s, ReportIn(channel="web", external_id=phone, text=text, phone=phone, hints={"category_code": "06010"}))


def _texts(standin: TwilioStandIn, phone: str, words: str) -> list[str]:
    return [m["Body"] for m in standin.messages() if m["To"] == phone and words in m["Body"]]


def _move(number: str, *actions: Action) -> None:
    with session_scope() as s:
        case = get_case_by_number(s, number)
        assert case is not None
        for action in actions:
            apply_action(s, case, action, "dept:wang" if action in (Action.ACCEPT, Action.HANDLE) else "grid:zhang")


def test_proposed_merged_and_every_reporter_hears_the_outcome(client: TestClient, twilio_env: TwilioStandIn) -> None:
    client = TestClient(client.app, base_url="https://testserver")  # Twilio configured: Secure cookies
    _web_report("东门菜市场后面巷子里有一堆垃圾丢在路边好几天了", FIRST)
    target = _number_of_phone(FIRST)
    assert _case(target).status == "dispatched"
    assert len(_texts(twilio_env, FIRST, "已派遣")) == 1
    _web_report("东门菜市场后面巷子里的垃圾还没人收", SECOND)
    duplicate = _number_of_phone(SECOND)
    assert duplicate != target and _case(duplicate).needs_review  # proposed, not linked

    # The case page: intake's proposal first, marked, with its reasons and the one-action merge.
    make_user("li", "agent")
    csrf = login(client, "li")
    page = client.get(f"/console/cases/{duplicate}").text
    listed = re.findall(r'data-duplicate-number="([^"]+)"', page)
    assert listed[0] == target and "系统建议合并" in page and "同一网格" in page and "文字相似度" in page
    form = page[page.index('id="merge-proposal"') : page.index("</form>", page.index('id="merge-proposal"'))]
    fields = dict(re.findall(r'name="([a-z_]+)" value="([^"]*)"', form))
    assert fields["into"] == target and "系统建议合并" in fields["reason"] and fields["csrf_token"] == csrf
    timeline = client.get(f"/console/cases/{duplicate}/timeline").text
    assert f"系统建议合并至工单 {target}" in timeline and "一事多诉" in timeline
    assert client.get(f"/console/api/cases/{duplicate}").json()["duplicate_proposal"]["number"] == target

    r = client.post(f"/console/cases/{duplicate}/merge", data=fields, headers={**HX, "X-CSRF-Token": csrf})
    assert r.status_code == 200 and r.headers["HX-Trigger"] == "case-changed"
    assert _case(duplicate).status == "merged"
    with session_scope() as s:
        assert reporter_phones(s, _case(target).id or 0) == [FIRST, SECOND]  # the target's reporters: both
    after = client.get(f"/console/cases/{duplicate}/duplicates").text
    assert 'id="merge-proposal"' not in after  # merged: nothing left to merge
    # The merged case's reporter is told which case now follows their report, once.
    [told] = _texts(twilio_env, SECOND, "已合并办理")
    assert target in told and duplicate in told
    run_now(JobName.NOTIFY_CASE_STATUS, _case(duplicate).id)
    assert len(_texts(twilio_env, SECOND, "已合并办理")) == 1
    assert not _texts(twilio_env, FIRST, "已合并办理")

    # 反馈: both reporters are told it is done, each once, however often the job runs.
    _move(target, Action.ACCEPT, Action.HANDLE)
    run_now(JobName.NOTIFY_CASE_STATUS, _case(target).id)
    run_now(JobName.NOTIFY_CASE_STATUS, _case(target).id)
    assert len(_texts(twilio_env, FIRST, "已处理完毕，感谢")) == 1
    assert len(_texts(twilio_env, SECOND, "已处理完毕，感谢")) == 1
    assert len(_texts(twilio_env, FIRST, "已派遣")) == 1 and not _texts(twilio_env, SECOND, "已派遣")

    # 核实: a survey call to each reporter, once each.
    _move(target, Action.VERIFY)
    run_now(JobName.START_SURVEY_CALL, _case(target).id)
    calls = {c["To"]: c for c in twilio_env.calls()}
    assert set(calls) == {FIRST, SECOND} and len(twilio_env.calls()) == 2
    # The first answers 满意: their rating, and the case waits for the other reporter.
    url = urlparse(calls[FIRST]["Url"])
    said = simulator(client, to_number=FIRST).run(scripted("1"), start=f"{url.path}?{url.query}")
    assert said[-1].startswith("感谢您的评价")
    case = _case(target)
    assert case.status == "verified"
    # The second does not answer: the rating link goes to them (and only them), once.
    with session_scope() as s:
        om = s.exec(
            select(OutboundMessage).where(OutboundMessage.purpose == "survey", OutboundMessage.to_phone == SECOND)
        ).one()
        om_id = om.id
    status = urlparse(calls[SECOND]["StatusCallback"])
    simulator(client).post(f"{status.path}?{status.query}", {"CallStatus": "no-answer", "CallDuration": "0"})
    run_now(JobName.SEND_SURVEY_LINK, case.id)
    [link_sms] = _texts(twilio_env, SECOND, "请您评价")
    assert not _texts(twilio_env, FIRST, "请您评价") and om_id is not None
    link = re.search(r"/h5/t/[A-Za-z0-9_-]+", link_sms)
    assert link
    page = client.get(link.group(0)).text
    assert "rate-form" in page  # the second reporter may rate, although the first already did
    token = re.search(r'name="t" value="([^"]+)"', page)
    h5_csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token and h5_csrf
    rated = client.post("/h5/track/rate", data={"csrf_token": h5_csrf.group(1), "t": token.group(1), "rating": "basic"})
    assert rated.status_code == 200 and "谢谢您的评价" in rated.text
    assert _case(target).status == "surveyed"  # every reporter heard: the 回访 is done
    with session_scope() as s:
        ratings = [
            e
            for e in s.exec(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(col(CaseEvent.id)))
            if e.data.get("rating")
        ]
    assert [(e.action, e.data["channel"]) for e in ratings] == [("note", "voice_survey"), ("survey", "web")]
    assert "另有 1 位反映人待回访" in (ratings[0].reason or "")


def _second_reporter(number: str, phone: str = SECOND) -> int:
    with session_scope() as s:
        case = get_case_by_number(s, number)
        assert case is not None
        report = Report(channel="voice", external_id=f"CA{phone}", text="同一处垃圾", phone=phone, case_id=case.id)
        s.add(report)
        s.flush()
        assert report.id is not None
        return report.id


def test_the_callback_worklist_calls_every_reporter(client: TestClient, twilio_env: TwilioStandIn) -> None:
    client = TestClient(client.app, base_url="https://testserver")  # Twilio configured: Secure cookies
    number = verified_case("东门菜市场垃圾满溢")
    second = _second_reporter(number)
    make_user("li", "agent", display_name="李坐席", phone="+8613500001111")
    csrf = login(client, "li")
    panel = client.get(f"/console/callbacks/{number}").text
    assert "共 2 位反映人" in panel and "138****8000" in panel and "139****0002" in panel
    assert panel.count("待回访") >= 2 and f'data-reporter="{second}"' in panel
    # The first reporter (the next one) answers on the agent's desk phone: noted, the case stays due.
    r = client.post(
        f"/console/callbacks/{number}/survey",
        data={"csrf_token": csrf, "rating": "satisfied", "comment": "很好"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == f"/console/callbacks/{number}?done=next"
    assert _case(number).status == "verified"
    assert "还有其他反映人待回访" in client.get(r.headers["location"]).text
    listed = client.get("/console/callbacks").text
    due = listed[listed.index('id="due"') : listed.index("</table>", listed.index('id="due"'))]
    assert number in due and "139****0002" in due  # due again at once, for the second reporter
    # The same reporter once more is refused; click-to-call dials the second reporter.
    again = client.post(
        f"/console/callbacks/{number}/survey",
        data={"csrf_token": csrf, "rating": "satisfied", "report_id": str(_first_report(number))},
    )
    assert again.status_code == 422 and "这位反映人已对本轮处置作出评价" in again.text
    rang = client.post(f"/console/callbacks/{number}/call", headers={**HX, "X-CSRF-Token": csrf})
    assert rang.status_code == 200, rang.text
    with session_scope() as s:
        [call] = s.exec(select(AgentCall)).all()
        assert call.resident_phone == SECOND
        call_id, sid = call.id, call.agent_call_sid
    from intake.telephony import agent_calls

    with session_scope() as s:
        assert call_id is not None and sid is not None
        agent_calls.agent_answered(s, call_id, sid)
        agent_calls.resident_answered(s, call_id, sid, "CA" + "7" * 32)
    done = client.post(
        f"/console/callbacks/{number}/survey",
        data={"csrf_token": csrf, "rating": "basic", "agent_call_id": str(call_id)},
        follow_redirects=False,
    )
    assert done.status_code == 303 and "done=surveyed" in done.headers["location"]
    assert _case(number).status == "closed"
    with session_scope() as s:
        attempts = s.exec(select(CallbackAttempt).order_by(col(CallbackAttempt.id))).all()
        assert [(a.outcome, a.next_try_at is None) for a in attempts] == [("answered", False), ("answered", True)]
        survey = s.exec(select(CaseEvent).where(CaseEvent.action == "survey")).one()
        assert survey.data["report_id"] == second and survey.data["agent_call_id"] == call_id


def _first_report(number: str) -> int:
    with session_scope() as s:
        case = get_case_by_number(s, number)
        assert case is not None
        report = s.exec(select(Report).where(Report.case_id == case.id).order_by(col(Report.id))).first()
        assert report is not None and report.id is not None
        return report.id


def test_any_reporter_may_rate_and_unsatisfied_from_any_reopens(client: TestClient) -> None:
    number = verified_case("东门菜市场垃圾满溢")
    second = _second_reporter(number)
    with session_scope() as s:
        case = get_case_by_number(s, number)
        assert case is not None
        assert record_rating(s, case, "satisfied", actor="resident:web", channel="web") == "noted"  # the first
        assert record_rating(s, case, "basic", actor="resident:web", channel="web") == "already_rated"
        assert (
            record_rating(s, case, "unsatisfied", actor="resident:web", channel="web", report_id=second) == "reopened"
        )
        assert case.status == "reopened"


def test_a_rating_stored_before_ratings_named_their_report_is_the_first_reporters() -> None:
    first = Report(id=1, channel="sms", external_id="a", phone=FIRST)
    also_first = Report(id=3, channel="web", external_id="c", phone=FIRST)
    second = Report(id=2, channel="voice", external_id="b", phone=SECOND)
    anonymous = Report(id=4, channel="web", external_id="d")
    reports = [first, second, also_first, anonymous]

    def ev(action: str, **data: object) -> CaseEvent:
        return CaseEvent(case_id=1, actor="x", action=action, data=dict(data))

    assert rated_this_round([ev("note", rating="满意")], reports) == {FIRST}  # legacy: the first reporter's
    assert rated_this_round([ev("note", rating="满意", report_id=3)], reports) == {FIRST}  # same phone
    assert rated_this_round([ev("note", rating="满意", report_id=4)], reports) == {"report:4"}
    both = [ev("note", rating="满意", report_id=1), ev("survey", rating="满意", report_id=2)]
    assert rated_this_round(both, reports) == {FIRST, SECOND}
    assert rated_this_round([*both, ev("handle")], reports) == set()  # a new 反馈: a new round
    assert RESIDENT not in rated_this_round(both, reports)
