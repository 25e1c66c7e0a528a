"""The 回访 worklist (/console/callbacks): verified cases in the order they were verified, with their
tries and ratings; the survey an agent records goes through the one rating rule (satisfied → 回访 then
结案, unsatisfied → reopened); tries that reach nobody come back after the retry time and, after the
last one, the resident gets the SMS rating link once (through the Twilio stand-in) and the case leaves
the list; click-to-call rings the agent's own phone; department staff are refused."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlmodel import col, select

from cases.access import EVERYONE
from cases.db import session_scope
from cases.jobnames import JobName
from cases.jobs import run_now
from cases.lifecycle import Action
from cases.models import Case, CaseEvent, Report
from cases.rating import record_rating
from cases.reference import reference_names
from cases.service import apply_action, get_case_by_number, open_case
from intake.telephony import agent_calls
from intake.telephony.models import AgentCall
from routing import callbacks
from routing.models import CallbackAttempt
from tests import telephony_fixtures as tf
from tests.callback_cases import RESIDENT, verified_case
from tests.console_helpers import GRID, OTHER_DEPARTMENT, login, make_user
from tests.twilio_standin import TwilioStandIn

standin, twilio_env = tf.standin, tf.twilio_env  # fixtures

AGENT_PHONE = "+8613500001111"
T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def _case(number: str) -> Case:
    with session_scope() as s:
        case = get_case_by_number(s, number)
        assert case is not None
        s.expunge(case)
        return case


def _events(number: str) -> list[CaseEvent]:
    with session_scope() as s:
        case = get_case_by_number(s, number)
        assert case is not None
        rows = s.exec(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(col(CaseEvent.id))).all()
        for r in rows:
            s.expunge(r)
        return list(rows)


def _due_numbers(text: str) -> list[str]:
    table = text[text.index('id="due"') : text.index("</table>", text.index('id="due"'))]
    return re.findall(r'data-case="([^"]+)"', table)


def _https(client: TestClient) -> TestClient:
    """With Twilio configured the public base URL is https, so the session cookie is Secure."""
    return TestClient(client.app, base_url="https://testserver")


def _agent(client: TestClient, phone: str | None = AGENT_PHONE) -> str:
    make_user("li", "agent", display_name="李坐席", phone=phone)
    return login(client, "li")


def test_the_list_is_verified_cases_oldest_first_with_what_was_tried_and_said(client: TestClient) -> None:
    middle = verified_case("东门菜市场垃圾满溢", at=T0 + timedelta(hours=2))
    oldest = verified_case("路灯不亮", phone="+8613800138001", at=T0)
    newest = verified_case("井盖缺失", phone="+8613800138002", at=T0 + timedelta(hours=5))
    anonymous = verified_case("占道经营", phone=None, at=T0 + timedelta(hours=1))
    with session_scope() as s:  # not due: still being handled
        open_case(s, actor="system:test", title="还在处置", category_code="06010", grid_code=GRID)
        rated = get_case_by_number(s, newest)
        assert rated is not None
        rated.status = "handled"  # the resident rated on the track page before 核实 …
        record_rating(s, rated, "satisfied", actor="resident", channel="web", comment="清理得很及时")
        apply_action(s, rated, Action.VERIFY, "grid:zhang")  # … then it was verified
        s.flush()
        s.execute(
            update(CaseEvent)
            .where(col(CaseEvent.case_id) == rated.id, CaseEvent.action == "verify")
            .values(at=T0 + timedelta(hours=5))
        )
    _agent(client)
    page = client.get("/console/callbacks")
    assert page.status_code == 200
    assert _due_numbers(page.text) == [oldest, middle, newest]
    assert "138****8000" in page.text and RESIDENT not in page.text and "13800138000" not in page.text
    category = reference_names().category("06010")
    assert category and page.text.count(category) >= 3  # each row names its category
    assert "网页评价" in page.text and "清理得很及时" in page.text  # the web rating, alongside
    assert "0/3" in page.text  # no tries yet, of three
    # The anonymous case cannot be called: listed apart, with a direct close.
    no_phone = page.text[page.text.index('id="no-phone"') :]
    assert anonymous in no_phone and f"/console/callbacks/{anonymous}/close" in no_phone
    assert anonymous not in _due_numbers(page.text)

    # Paged by (verified at, id): two, then the rest through 更多.
    with session_scope() as s:
        first, cursor = callbacks.due(s, EVERYONE, limit=2)
        assert [r.case.number for r in first] == [oldest, middle] and cursor
        rest, end = callbacks.due(s, EVERYONE, after=cursor, limit=2)
        assert [r.case.number for r in rest] == [newest] and end is None
    more = client.get(f"/console/callbacks?after={cursor}")
    assert more.status_code == 200 and "<html" not in more.text
    assert client.get("/console/callbacks?after=nonsense").status_code == 400


def test_satisfied_callback_surveys_the_case_through_the_rating_rule_then_closes_it(client: TestClient) -> None:
    number = verified_case("东门菜市场垃圾满溢")
    csrf = _agent(client)
    panel = client.get(f"/console/callbacks/{number}")
    assert "请问您对处理结果满意吗" in panel.text and "李坐席" in panel.text
    r = client.post(
        f"/console/callbacks/{number}/survey",
        data={"csrf_token": csrf, "rating": "satisfied", "comment": "很好"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    assert _case(number).status == "closed"
    survey, close = _events(number)[-2:]
    assert (survey.action, survey.from_status, survey.to_status) == ("survey", "verified", "surveyed")
    assert survey.actor == "agent:li" and survey.data["rating_code"] == "satisfied"
    assert survey.data["channel"] == "agent_callback" and survey.reason == "回访：满意"
    assert (close.action, close.to_status, close.actor) == ("close", "closed", "agent:li")
    assert number not in _due_numbers(client.get("/console/callbacks").text)
    assert "工单已结案" in client.get(r.headers["location"]).text


def test_unsatisfied_callback_reopens_the_case_as_the_rating_rule_decides(client: TestClient) -> None:
    number = verified_case("东门菜市场垃圾满溢")
    csrf = _agent(client)
    r = client.post(
        f"/console/callbacks/{number}/survey",
        data={"csrf_token": csrf, "rating": "unsatisfied", "comment": "垃圾还在"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    case = _case(number)
    # reopened, and (the job after the commit) back with its department one grade up
    assert (case.status, case.reopen_count, case.grade) == ("dispatched", 1, "urgent")
    [reopen] = [e for e in _events(number) if e.action == "reopen"]
    assert reopen.from_status == "verified" and reopen.actor == "agent:li"
    assert reopen.reason == "回访不满意：垃圾还在" and reopen.data["rating_code"] == "unsatisfied"
    # Rated once per round: a second survey of the same round is refused in Chinese.
    again = client.post(f"/console/callbacks/{number}/survey", data={"csrf_token": csrf, "rating": "satisfied"})
    assert again.status_code == 422 and "不在待回访状态" in again.text


def test_a_form_without_a_rating_is_refused_in_chinese_keeping_the_comment(client: TestClient) -> None:
    number = verified_case("东门菜市场垃圾满溢")
    csrf = _agent(client)
    r = client.post(f"/console/callbacks/{number}/survey", data={"csrf_token": csrf, "comment": "<b>还没说完</b>"})
    assert r.status_code == 422
    assert "请选择市民的评价" in r.text and "&lt;b&gt;还没说完&lt;/b&gt;" in r.text
    assert _case(number).status == "verified"


def test_no_answer_is_a_try_and_the_case_comes_back_after_the_retry_time(client: TestClient) -> None:
    number = verified_case("东门菜市场垃圾满溢")
    csrf = _agent(client)
    r = client.post(
        f"/console/callbacks/{number}/attempt",
        data={"csrf_token": csrf, "outcome": "no_answer"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and "done=attempt" in r.headers["location"]
    with session_scope() as s:
        [attempt] = s.exec(select(CallbackAttempt)).all()
        assert (attempt.outcome, attempt.how, attempt.actor) == ("no_answer", "desk_phone", "agent:li")
        assert attempt.next_try_at is not None
        assert attempt.next_try_at - attempt.at == timedelta(minutes=120)
        retry = attempt.next_try_at
        assert callbacks.due(s, EVERYONE)[0] == []
        assert [r.case.number for r in callbacks.due(s, EVERYONE, now=retry + timedelta(seconds=1))[0]] == [number]
    page = client.get("/console/callbacks").text
    assert number not in _due_numbers(page)
    waiting = page[page.index('id="waiting"') :]
    assert number in waiting and "1/3" in waiting and "无人接听" in waiting
    assert _case(number).status == "verified"
    [note] = [e for e in _events(number) if e.data.get("callback_outcome")]
    assert note.actor == "agent:li" and "第1次" in (note.reason or "")
    bad = client.post(f"/console/callbacks/{number}/attempt", data={"csrf_token": csrf, "outcome": "answered"})
    assert bad.status_code == 422 and "请选择未接通的原因" in bad.text


def test_after_the_last_try_the_resident_gets_the_sms_link_once_and_the_case_leaves_the_list(
    client: TestClient, twilio_env: TwilioStandIn
) -> None:
    client = _https(client)
    number = verified_case("东门菜市场垃圾满溢")
    csrf = _agent(client)
    for outcome in ("no_answer", "busy", "no_answer"):
        r = client.post(
            f"/console/callbacks/{number}/attempt",
            data={"csrf_token": csrf, "outcome": outcome},
            follow_redirects=False,
        )
        assert r.status_code == 303
    assert "done=texted" in r.headers["location"]
    links = [m for m in twilio_env.messages() if "请您评价" in m["Body"]]
    assert len(links) == 1 and links[0]["To"] == RESIDENT
    assert number in links[0]["Body"] and f"{tf.PUBLIC}/h5/t/" in links[0]["Body"]
    run_now(JobName.SEND_SURVEY_LINK, _case(number).id)  # the job again (a retry): nothing more is sent
    assert len([m for m in twilio_env.messages() if "请您评价" in m["Body"]]) == 1
    with session_scope() as s:
        assert callbacks.due(s, EVERYONE, now=datetime.now(UTC) + timedelta(days=30))[0] == []
        last = s.exec(select(CallbackAttempt).order_by(col(CallbackAttempt.id).desc())).first()
        assert last is not None and last.next_try_at is None
    page = client.get("/console/callbacks").text
    texted = page[page.index('id="texted"') :]
    assert number in texted and "已发送短信评价链接" in texted and "3/3" in texted
    assert "自动语音回访：已拨打" in texted  # the automated survey call placed after 核实, alongside
    assert number not in _due_numbers(page)


def test_an_anonymous_case_is_closed_directly_and_cannot_be_surveyed(client: TestClient) -> None:
    number = verified_case("占道经营", phone=None)
    csrf = _agent(client)
    refused = client.post(f"/console/callbacks/{number}/survey", data={"csrf_token": csrf, "rating": "satisfied"})
    assert refused.status_code == 422 and "匿名反映" in refused.text
    r = client.post(f"/console/callbacks/{number}/close", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303
    assert _case(number).status == "closed"
    assert _events(number)[-1].reason == "匿名反映，无法回访，结案"
    phoned = verified_case("东门菜市场垃圾满溢")
    no = client.post(f"/console/callbacks/{phoned}/close", data={"csrf_token": csrf})
    assert no.status_code == 422 and "请先回访" in no.text


def test_click_to_call_rings_the_agent_and_a_missed_resident_becomes_a_try(
    client: TestClient, twilio_env: TwilioStandIn
) -> None:
    client = _https(client)
    number = verified_case("东门菜市场垃圾满溢")
    csrf = _agent(client)
    before = len(twilio_env.calls())
    r = client.post(f"/console/callbacks/{number}/call", headers={"X-CSRF-Token": csrf, "HX-Request": "true"})
    assert r.status_code == 200, r.text
    assert 'hx-trigger="every 2s"' in r.text  # the page polls the call while it rings
    [call] = twilio_env.calls()[before:]
    assert call["To"] == AGENT_PHONE  # the agent's own phone first
    with session_scope() as s:
        [row] = s.exec(select(AgentCall)).all()
        assert row.case_id == _case(number).id and row.resident_phone == RESIDENT and row.status == "ringing"
        assert row.agent_call_sid is not None
        row_id, sid = row.id, row.agent_call_sid
    assert "振铃" in client.get(f"/console/callbacks/{number}/call").text
    # Twilio says the agent answered, then the resident's leg was not answered.
    with session_scope() as s:
        assert row_id is not None
        agent_calls.agent_answered(s, row_id, sid)
        agent_calls.dial_ended(s, row_id, sid, dial_status="no-answer", dial_call_sid=None, dial_seconds="0")
    status = client.get(f"/console/callbacks/{number}/call").text
    assert "市民未接听" in status and "every 2s" not in status and "已记为一次未接通" in status
    for _ in range(2):  # recorded by the job after the webhook's commit; the job again (a retry) adds nothing
        with session_scope() as s:
            [attempt] = s.exec(select(CallbackAttempt)).all()
            assert (attempt.how, attempt.outcome, attempt.agent_call_id) == ("agent_call", "no_answer", row_id)
            assert attempt.actor == "agent:li" and attempt.next_try_at is not None
        run_now(JobName.RECORD_CALLBACK_CALL, row_id)
    # An agent without a phone of their own is told why nothing rings.
    make_user("nophone", "agent")
    other = _https(client)
    other_csrf = login(other, "nophone")
    refused = other.post(
        f"/console/callbacks/{number}/call", headers={"X-CSRF-Token": other_csrf, "HX-Request": "true"}
    )
    assert refused.status_code == 409 and "没有登记电话号码" in refused.text


def test_department_staff_are_refused(client: TestClient) -> None:
    number = verified_case("东门菜市场垃圾满溢", department=OTHER_DEPARTMENT)
    make_user("dept", "department")
    csrf = login(client, "dept")
    assert client.get("/console/callbacks").status_code == 403
    assert client.get(f"/console/callbacks/{number}").status_code == 403
    r = client.post(f"/console/callbacks/{number}/survey", data={"csrf_token": csrf, "rating": "satisfied"})
    assert r.status_code == 403
    assert _case(number).status == "verified"


def test_a_case_verified_without_an_event_counts_from_when_it_was_opened(client: TestClient) -> None:
    """Imported data: status verified, no verify event. Its tries still count (the round does not move
    when the try's note changes the case)."""
    with session_scope() as s:
        case = open_case(s, actor="system:test", title="导入的工单", category_code="06010", grid_code=GRID)
        s.add(Report(channel="sms", external_id="SMimported", text="导入", phone=RESIDENT, case_id=case.id))
        case.status = "verified"
        number = case.number
    csrf = _agent(client)
    assert _due_numbers(client.get("/console/callbacks").text) == [number]
    client.post(f"/console/callbacks/{number}/attempt", data={"csrf_token": csrf, "outcome": "busy"})
    assert _due_numbers(client.get("/console/callbacks").text) == []
    with session_scope() as s:
        [row] = callbacks.worklist(s, EVERYONE).waiting
        assert row.case.number == number and row.failed_tries == 1


def test_an_answered_console_call_is_the_survey_it_carried(client: TestClient, twilio_env: TwilioStandIn) -> None:
    client = _https(client)
    number = verified_case("东门菜市场垃圾满溢")
    csrf = _agent(client)
    client.post(f"/console/callbacks/{number}/call", headers={"X-CSRF-Token": csrf, "HX-Request": "true"})
    with session_scope() as s:
        [row] = s.exec(select(AgentCall)).all()
        row_id, sid = row.id, row.agent_call_sid
        assert row_id is not None and sid is not None
        agent_calls.agent_answered(s, row_id, sid)
        agent_calls.resident_answered(s, row_id, sid, "CA" + "8" * 32)
    status = client.get(f"/console/callbacks/{number}/call").text
    assert "通话中" in status and f'name="agent_call_id" value="{row_id}" form="survey-form"' in status
    r = client.post(
        f"/console/callbacks/{number}/survey",
        data={"csrf_token": csrf, "rating": "basic", "agent_call_id": str(row_id)},
        follow_redirects=False,
    )
    assert r.status_code == 303 and _case(number).status == "closed"
    with session_scope() as s:
        [attempt] = s.exec(select(CallbackAttempt)).all()
        assert (attempt.how, attempt.outcome, attempt.agent_call_id) == ("agent_call", "answered", row_id)
        [survey] = [e for e in _events(number) if e.action == "survey"]
        assert survey.data["agent_call_id"] == row_id and survey.data["rating"] == "基本满意"
    # Someone else's call id is refused.
    other = verified_case("另一个工单", phone="+8613800138006")
    bad = client.post(
        f"/console/callbacks/{other}/survey",
        data={"csrf_token": csrf, "rating": "satisfied", "agent_call_id": str(row_id)},
    )
    assert bad.status_code == 422 and "不是您为该工单拨打的回访电话" in bad.text
