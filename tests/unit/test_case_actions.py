"""The case page's actions panel, through the app with signed-in users: confirm-and-dispatch, corrections
kept as labelled examples, the lifecycle actions an agent may take (and the ones refused, in Chinese),
notes, 合并, SMS replies through the Twilio stand-in, and who may do any of it."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient
from sqlmodel import col, select

from agent_ui.accounts.roles import Role
from agent_ui.workbench.action_specs import HOTLINE_ACTIONS, lifecycle_choices, refusal_zh
from cases.db import session_scope
from cases.lifecycle import REASON_REQUIRED, Action, CaseStatus, IllegalTransition, allowed_actions, reason_missing
from cases.models import Case, CaseEvent, Report
from cases.service import apply_action, get_case_by_number, open_case
from cases.states import EventKind
from classifiers.models import LabelledExample
from intake.telephony.models import OutboundMessage, SmsOptOut
from tests import telephony_fixtures as tf
from tests.console_helpers import DEPARTMENT, GRID, login, make_user
from tests.twilio_standin import TwilioStandIn

standin, twilio_env = tf.standin, tf.twilio_env  # fixtures

HX = {"HX-Request": "true"}
PHONE = "+8613911112222"
TEXT = "东门菜市场门口垃圾堆了好几天没人清理"


def held_case(
    *, category: str | None = "06010", grid: str | None = GRID, phone: str | None = PHONE, top3: list | None = None
) -> str:
    """A registered case the pipeline held for an agent, with its report and the classifier's event."""
    with session_scope() as s:
        case = open_case(s, actor="system:pipeline", title=TEXT, category_code=category, grid_code=grid)
        top = top3 if top3 is not None else [["06010", 0.55], ["06011", 0.25], ["06012", 0.1]]
        s.add(CaseEvent(case_id=case.id, actor="system:pipeline", action="classify", data={"category_top3": top}))
        apply_action(s, case, Action.REGISTER, "system:pipeline")
        case.needs_review = True
        s.add(Report(channel="sms", external_id=uuid.uuid4().hex, text=TEXT, phone=phone, case_id=case.id))
        return case.number


def case_in(status: CaseStatus) -> str:
    """A case walked through the lifecycle to `status` (as the department and grid worker would)."""
    number = held_case()
    path = {
        CaseStatus.DISPATCHED: [],
        CaseStatus.RETURNED: ["return"],
        CaseStatus.HANDLED: ["accept", "handle"],
        CaseStatus.VERIFIED: ["accept", "handle", "verify"],
        CaseStatus.CLOSED: ["accept", "handle", "verify", "close"],
    }[status]
    from routing.review import confirm_case

    with session_scope() as s:
        case = get_case_by_number(s, number)
        assert case is not None
        confirm_case(s, case, "agent:setup")
        for action in path:
            apply_action(s, case, action, f"dept:{DEPARTMENT}", reason="测试")
    return number


def case_row(number: str) -> Case:
    with session_scope() as s:
        case = get_case_by_number(s, number)
        assert case is not None
        s.expunge(case)
        return case


def events(number: str) -> list[CaseEvent]:
    with session_scope() as s:
        case = get_case_by_number(s, number)
        assert case is not None
        rows = list(s.exec(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(col(CaseEvent.id))))
        for r in rows:
            s.expunge(r)
        return rows


@pytest.fixture
def agent(client: TestClient) -> dict[str, str]:
    """Signed in as agent li; the headers an htmx post sends (CSRF token included)."""
    make_user("li", "agent", display_name="李晓")
    return HX | {"X-CSRF-Token": login(client, "li")}


def post(client: TestClient, headers: dict[str, str], number: str, what: str, **form: str):  # type: ignore[no-untyped-def]
    return client.post(f"/console/cases/{number}/{what}", data=form, headers=headers, follow_redirects=False)


# --- the panel ----------------------------------------------------------------------------------------


def test_the_panel_shows_what_a_dispatch_would_do_before_the_click(client: TestClient, agent: dict) -> None:
    number = held_case()
    r = client.get(f"/console/cases/{number}/actions", headers=HX)
    assert r.status_code == 200
    page = r.text
    assert 'data-key="d"' in page and "确认派遣" in page
    preview = page[page.index('id="dispatch-plan"') : page.index("</dl>")]
    assert "区环境卫生管理处" in preview  # the department the rules pick for 06010, before anything is sent
    assert "处置时限" in preview and "派遣时限" in preview and "garbage-exposed" in preview
    for key in ("1", "2", "3"):  # the classifier's top three, one key each
        assert f'data-key="{key}"' in page
    assert 'data-pick-category="06011"' in page
    assert "<optgroup" in page and "421102001001001" in page  # categories by major class, grids with names
    assert "签收" not in page and "处置反馈" not in page  # the department's own actions are not offered
    # The preview follows the edit form's choice.
    plan = client.get(f"/console/cases/{number}/plan", params={"category_code": "01001"}, headers=HX)
    assert plan.status_code == 200 and "区市政工程管理处" in plan.text and "紧急" in plan.text


def test_confirm_and_dispatch_records_the_agent(client: TestClient, agent: dict) -> None:
    number = held_case()
    r = post(client, agent, number, "confirm", category_code="06010", grid_code=GRID)
    assert r.status_code == 200, r.text
    assert r.headers["HX-Trigger"] == "case-changed"
    assert "已确认并派遣" in r.text and f"/console/cases/{number}/confirm" not in r.text  # no longer held
    case = case_row(number)
    assert case.status == "dispatched" and case.department_code == DEPARTMENT and not case.needs_review
    assert case.dispatch_deadline is not None and case.handle_deadline is not None
    trail = events(number)
    assert [e.action for e in trail][-2:] == ["confirm", "dispatch"]
    assert {e.actor for e in trail[-2:]} == {"agent:li"}
    with session_scope() as s:  # a confirmation is an example too (source confirm)
        ex = s.exec(select(LabelledExample)).one()
        assert (ex.label, ex.source, ex.who) == ("06010", "confirm", "agent:li")


def test_a_corrected_category_is_stored_as_a_labelled_example(client: TestClient, agent: dict) -> None:
    number = held_case()
    r = post(client, agent, number, "confirm", category_code="06011", grid_code=GRID, reason="实为垃圾满溢")
    assert r.status_code == 200, r.text
    case = case_row(number)
    assert case.category_code == "06011" and case.status == "dispatched"
    with session_scope() as s:
        ex = s.exec(select(LabelledExample)).one()
        assert (ex.text, ex.label, ex.grid_code, ex.who, ex.source) == (TEXT, "06011", GRID, "agent:li", "correction")
        assert ex.case_id == case.id
    correct = next(e for e in events(number) if e.action == "correct")
    assert correct.data["category_code"] == ["06010", "06011"] and correct.reason == "实为垃圾满溢"


def test_a_refused_confirmation_says_why_in_chinese_and_keeps_the_typing(client: TestClient, agent: dict) -> None:
    number = held_case(category=None, grid=None, top3=[])
    r = post(client, agent, number, "confirm", category_code="", grid_code="", reason="我写的说明")
    assert r.status_code == 422 and "请先选择事项类别" in r.text and "HX-Trigger" not in r.headers
    bad = post(client, agent, number, "confirm", category_code="06010", grid_code="999999999999999")
    assert bad.status_code == 422 and "网格编码不存在" in bad.text
    # Without htmx the panel comes back with the message next to the form and what was typed.
    plain = {"X-CSRF-Token": agent["X-CSRF-Token"]}
    again = post(client, plain, number, "confirm", category_code="06010", grid_code="", reason="我写的说明")
    assert again.status_code == 422 and "请选择网格" in again.text
    assert 'value="我写的说明"' in again.text and '<option value="06010" selected' in again.text
    case = case_row(number)
    assert case.status == "registered" and case.needs_review
    with session_scope() as s:
        assert s.exec(select(LabelledExample)).all() == []  # nothing of a refused attempt is kept


# --- lifecycle actions --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "action", "after"),
    [
        (CaseStatus.REGISTERED, "reject", "rejected"),
        (CaseStatus.DISPATCHED, "escalate", "dispatched"),
        (CaseStatus.DISPATCHED, "return", "returned"),
        (CaseStatus.HANDLED, "verify", "verified"),
        (CaseStatus.HANDLED, "verify_fail", "in_progress"),
        # A reopen is followed (after its commit) by the job that sends the case back to its department.
        (CaseStatus.HANDLED, "reopen", "dispatched"),
        (CaseStatus.VERIFIED, "close", "closed"),
        (CaseStatus.CLOSED, "reopen", "dispatched"),
    ],
)
def test_each_lifecycle_action_the_status_allows(
    client: TestClient, agent: dict, status: CaseStatus, action: str, after: str
) -> None:
    number = held_case() if status == CaseStatus.REGISTERED else case_in(status)
    panel = client.get(f"/console/cases/{number}/actions", headers=HX).text
    assert f'value="{action}"' in panel
    r = post(client, agent, number, "act", action=action, reason="居民来电说明情况")
    assert r.status_code == 200, r.text
    assert r.headers["HX-Trigger"] == "case-changed"
    assert case_row(number).status == after
    mine = [e for e in events(number) if e.actor == "agent:li"]
    last = mine[-1]
    assert (last.action, last.actor, last.reason) == (action, "agent:li", "居民来电说明情况")
    if action == "reopen":
        back = events(number)[-1]
        assert (back.action, back.actor, back.data["grade"]) == ("dispatch", "system:reopen", "urgent")


def test_a_reason_is_required_where_the_lifecycle_needs_one(client: TestClient, agent: dict) -> None:
    number = case_in(CaseStatus.HANDLED)
    r = post(client, agent, number, "act", action="reopen", reason="   ")
    assert r.status_code == 422 and "请填写重开的原因" in r.text
    assert case_row(number).status == "handled"
    ok = post(client, agent, number, "act", action="verify")  # 核实通过 needs none
    assert ok.status_code == 200 and case_row(number).status == "verified"


def test_a_move_the_status_does_not_allow_is_refused_in_chinese(client: TestClient, agent: dict) -> None:
    number = case_in(CaseStatus.CLOSED)
    r = post(client, agent, number, "act", action="verify")
    assert r.status_code == 422 and "当前状态为“已结案”，不能核实通过" in r.text
    assert case_row(number).status == "closed"


def test_department_actions_are_not_the_agents(client: TestClient, agent: dict) -> None:
    number = case_in(CaseStatus.DISPATCHED)
    for action in ("accept", "handle", "survey"):
        r = post(client, agent, number, "act", action=action)
        assert r.status_code == 422 and "不在热线坐席的操作范围内" in r.text
    assert case_row(number).status == "dispatched"


def test_redispatch_after_a_return(client: TestClient, agent: dict) -> None:
    number = case_in(CaseStatus.RETURNED)
    panel = client.get(f"/console/cases/{number}/actions", headers=HX).text
    assert "重新派遣" in panel and '<option value="municipal"' in panel
    preview = client.get(f"/console/cases/{number}/plan", params={"department_code": "municipal"}, headers=HX)
    assert "区市政工程管理处" in preview.text
    r = post(client, agent, number, "dispatch", department_code="municipal", reason="改派市政")
    assert r.status_code == 200, r.text
    case = case_row(number)
    assert (case.status, case.department_code) == ("dispatched", "municipal")
    assert events(number)[-1].actor == "agent:li"


def test_extend_moves_the_handling_deadline_by_working_days(client: TestClient, agent: dict) -> None:
    number = case_in(CaseStatus.DISPATCHED)
    before = case_row(number).handle_deadline
    assert before is not None
    assert "延期原因" in client.get(f"/console/cases/{number}/actions", headers=HX).text
    refused = post(client, agent, number, "extend", working_days="2", reason="")
    assert refused.status_code == 422 and "请填写延期的原因" in refused.text
    odd = post(client, agent, number, "extend", working_days="7", reason="材料未到")
    assert odd.status_code == 422 and "请选择延期的工作日数" in odd.text
    r = post(client, agent, number, "extend", working_days="2", reason="需协调供电部门停电施工")
    assert r.status_code == 200, r.text
    case = case_row(number)
    assert case.status == "dispatched" and case.handle_deadline is not None
    gained = case.handle_deadline - max(before, case.updated_at)
    assert gained.total_seconds() >= 2 * 7 * 3600  # two working days of 7 hours, weekends not counted
    last = events(number)[-1]
    assert (last.action, last.actor, last.data["working_days"]) == ("extend", "agent:li", 2)
    assert last.data["previous_handle_deadline"] == before.isoformat()
    closed = case_in(CaseStatus.CLOSED)
    late = post(client, agent, closed, "extend", working_days="1", reason="太晚了")
    assert late.status_code == 422 and "不能延期" in late.text


def test_a_returned_case_is_corrected_then_redispatched_by_the_corrected_category(
    client: TestClient, agent: dict
) -> None:
    number = case_in(CaseStatus.RETURNED)  # the department says it is not theirs: a manhole, not garbage
    same = post(client, agent, number, "correct", category_code="06010", grid_code=GRID)
    assert same.status_code == 422 and "都没有改动" in same.text
    r = post(client, agent, number, "correct", category_code="01001", grid_code=GRID, reason="实为井盖缺失")
    assert r.status_code == 200, r.text
    case = case_row(number)
    assert (case.status, case.category_code) == ("returned", "01001")
    assert "区市政工程管理处" in r.text  # the re-dispatch preview now follows the corrected category
    with session_scope() as s:
        ex = s.exec(select(LabelledExample).where(LabelledExample.source == "correction")).one()
        assert (ex.label, ex.who, ex.case_id) == ("01001", "agent:li", case.id)
    assert post(client, agent, number, "dispatch").status_code == 200
    assert (case_row(number).status, case_row(number).department_code) == ("dispatched", "municipal")
    closed = case_in(CaseStatus.CLOSED)
    late = post(client, agent, closed, "correct", category_code="01001")
    assert late.status_code == 422 and "工单已结束" in late.text


# --- notes, merge, replies ----------------------------------------------------------------------------


def test_an_internal_note(client: TestClient, agent: dict) -> None:
    number = held_case()
    assert post(client, agent, number, "note", text=" ").status_code == 422
    r = post(client, agent, number, "note", text="居民称<script>alert(1)</script>晚上更严重")
    assert r.status_code == 200
    last = events(number)[-1]
    assert (last.action, last.actor, last.reason) == ("note", "agent:li", "居民称<script>alert(1)</script>晚上更严重")
    assert case_row(number).status == "registered"


def test_merge_into_another_case(client: TestClient, agent: dict) -> None:
    target = held_case(phone="+8613700001111")
    number = held_case()
    assert post(client, agent, number, "merge", into=number, reason="同一问题").status_code == 422
    assert "请填写合并的原因" in post(client, agent, number, "merge", into=target, reason="").text
    r = post(client, agent, number, "merge", into=target, reason="同一地点同一问题")
    assert r.status_code == 200, r.text
    assert "已合并到工单" in r.text
    merged, into = case_row(number), case_row(target)
    assert merged.status == "merged" and not merged.needs_review
    with session_scope() as s:
        phones = {r.phone for r in s.exec(select(Report).where(Report.case_id == into.id))}
        assert phones == {"+8613700001111", PHONE}
    mv = events(number)[-1]
    assert (mv.action, mv.actor, mv.data["into"]) == ("merge", "agent:li", target)
    link = events(target)[-1]
    assert (link.action, link.data["merged_from"]) == (EventKind.LINK_REPORT.value, number)
    # A merged case cannot take another merge, nor be merged into.
    assert post(client, agent, number, "merge", into=target, reason="再次").status_code == 422
    other = held_case()
    refused = post(client, agent, other, "merge", into=number, reason="错误目标")
    assert refused.status_code == 422 and "目标工单已结束" in refused.text


def test_sms_reply_goes_through_the_outbound_path(client: TestClient, agent: dict, twilio_env: TwilioStandIn) -> None:
    number = held_case()
    nonce = uuid.uuid4().hex
    r = post(client, agent, number, "reply", template="need_location", nonce=nonce)
    assert r.status_code == 200, r.text
    assert post(client, agent, number, "reply", template="need_location", nonce=nonce).status_code == 200
    [sent] = twilio_env.messages()  # the same form twice (a double click) texts once
    assert sent["To"] == PHONE and number in sent["Body"] and "补充具体位置" in sent["Body"]
    with session_scope() as s:
        om = s.exec(select(OutboundMessage).where(OutboundMessage.purpose == "agent_reply")).one()
        assert om.status == "sent"
    ev = [e for e in events(number) if e.action == "sms_reply"]
    assert len(ev) == 1 and ev[0].actor == "agent:li" and ev[0].data["template"] == "need_location"
    assert PHONE not in str(ev[0].data) and PHONE not in (ev[0].reason or "")
    assert post(client, agent, number, "reply", template="nonsense", nonce="x").status_code == 422


def test_no_reply_to_an_opted_out_or_anonymous_reporter(client: TestClient, agent: dict) -> None:
    anonymous = held_case(phone=None)
    r = post(client, agent, anonymous, "reply", template="received", nonce="a1")
    assert r.status_code == 422 and "没有反映人电话" in r.text
    number = held_case()
    with session_scope() as s:
        s.add(SmsOptOut(phone=PHONE))
    assert "已退订" in client.get(f"/console/cases/{number}/actions", headers=HX).text
    r = post(client, agent, number, "reply", template="received", nonce="a2")
    assert r.status_code == 422 and "已退订" in r.text
    with session_scope() as s:
        assert s.exec(select(OutboundMessage)).all() == []


# --- who may -----------------------------------------------------------------------------------------


def test_department_staff_get_403_and_a_post_without_csrf_is_refused(client: TestClient) -> None:
    number = held_case()
    make_user("wang", "department")
    csrf = login(client, "wang")
    assert client.get(f"/console/cases/{number}/actions", headers=HX).status_code == 403
    r = post(client, HX | {"X-CSRF-Token": csrf}, number, "act", action="reject", reason="x")
    assert r.status_code == 403
    client.cookies.clear()
    make_user("li", "agent")
    login(client, "li")
    r = post(client, HX, number, "act", action="reject", reason="没有令牌")
    assert r.status_code == 403 and "安全令牌" in r.text
    assert case_row(number).status == "registered"


def test_an_unknown_case_is_404(client: TestClient, agent: dict) -> None:
    assert client.get("/console/cases/12319-20000101-999999/actions", headers=HX).status_code == 404
    assert post(client, agent, "12319-20000101-999999", "note", text="x").status_code == 404


# --- the tables (pure) --------------------------------------------------------------------------------


def test_offered_actions_follow_the_lifecycle_and_the_role() -> None:
    for status in CaseStatus:
        offered = {c.action for c in lifecycle_choices(status, Role.AGENT)}
        assert offered <= set(allowed_actions(status)) and offered <= set(HOTLINE_ACTIONS)
        assert lifecycle_choices(status, Role.DEPARTMENT) == []
        assert Action.ACCEPT not in offered and Action.HANDLE not in offered
    handled = {c.action: c for c in lifecycle_choices(CaseStatus.HANDLED, Role.SUPERVISOR)}
    assert set(handled) == {Action.VERIFY, Action.VERIFY_FAIL, Action.REOPEN, Action.ESCALATE}
    assert handled[Action.REOPEN].needs_reason and handled[Action.REOPEN].confirm
    assert not handled[Action.VERIFY].needs_reason and handled[Action.VERIFY].confirm is None
    assert reason_missing(Action.REJECT, " ") and not reason_missing(Action.CLOSE, None)
    assert {Action.REJECT, Action.RETURN, Action.REOPEN, Action.ESCALATE} <= REASON_REQUIRED


def test_refusals_read_in_chinese() -> None:
    assert refusal_zh(IllegalTransition(CaseStatus.CLOSED, Action.DISPATCH)) == "当前状态为“已结案”，不能派遣"
    from routing.review import ReviewError
    from routing.rules import RulesError

    assert refusal_zh(ReviewError("no routing rule for category 99999: name a department")).startswith("该类别没有")
    assert "派遣规则" in refusal_zh(RulesError("rules.yaml: broken"))
    assert refusal_zh(ValueError("something new")) == "操作未能完成，请检查填写内容后重试"
