"""The console's case page (read side): what it shows, who may read it (404 otherwise, by page and by
API), the audited phone reveal, escaping, the classifier's top 3, the grid map, the repeat-reporter
banner and possible duplicates, the voicemail recording through the console."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from cases.db import session_scope
from cases.lifecycle import Action
from cases.models import Case, CaseEvent, Report, utcnow
from cases.service import apply_action, open_case, record_event
from cases.states import EventKind
from intake.telephony.models import OutboundMessage, SmsMessage
from tests import telephony_fixtures as tf
from tests.console_helpers import DEPARTMENT, GRID, OTHER_DEPARTMENT, login, make_user
from tests.telephony_fixtures import ACCOUNT
from tests.twilio_standin import TwilioStandIn

PHONE = "+8613800138000"
MASKED = "138****8000"
NEIGHBOUR = "421102001001002"  # 东门社区第2网格, east of GRID
FAR_GRID = "421102005002001"  # 四合社区第1网格, far from GRID

standin = tf.standin  # fixture


def _case(
    *,
    title: str = "东门菜市场门口垃圾满溢",
    text: str = "东门菜市场门口垃圾桶满了，臭味很大",
    phone: str | None = PHONE,
    category: str = "06010",
    grid: str = GRID,
    department: str = DEPARTMENT,
    top3: list[list[Any]] | None = None,
    report_fields: dict[str, Any] | None = None,
    created_days_ago: int = 0,
) -> str:
    """A case as the pipeline leaves it: a report, open → classify → register → hold for an agent."""
    with session_scope() as s:
        at = utcnow() - timedelta(days=created_days_ago)
        case = open_case(s, actor="system:pipeline", title=title, category_code=category, grid_code=grid)
        case.created_at = at
        fields = dict(report_fields or {})
        report = Report(
            channel=fields.pop("channel", "sms"),
            external_id=f"SM{case.id}",
            text=text,
            phone=phone,
            received_at=at,
            case_id=case.id,
            lat=30.403,
            lon=114.843,
            address="东门菜市场",
            **fields,
        )
        s.add(report)
        s.flush()
        data: dict[str, Any] = {
            "category_code": category,
            "category_confidence": 0.62,
            "grid_code": grid,
            "grid_confidence": 0.95,
            "grid_source": "gps",
            "report_id": report.id,
        }
        if top3 is not None:
            data["category_top3"] = top3
        record_event(s, case, EventKind.CLASSIFY, "system:pipeline", data=data)
        apply_action(s, case, Action.REGISTER, "system:pipeline", data={"channel": "sms"})
        case.department_code = department
        case.needs_review = True
        record_event(
            s, case, EventKind.HOLD_FOR_AGENT, "system:pipeline", reason="classifier confidence below the threshold"
        )
        return case.number


def _report_id(number: str) -> int:
    with session_scope() as s:
        case = s.exec(select(Case).where(Case.number == number)).one()
        rid = s.exec(select(Report.id).where(Report.case_id == case.id)).first()
        assert rid is not None
        return rid


def _events(number: str) -> list[CaseEvent]:
    with session_scope() as s:
        case = s.exec(select(Case).where(Case.number == number)).one()
        return list(s.exec(select(CaseEvent).where(CaseEvent.case_id == case.id)))


@pytest.fixture
def agent(client: TestClient) -> str:
    make_user("li", "agent", display_name="李明")
    return login(client, "li")


def test_the_page_shows_the_case_its_report_and_its_timeline_in_plain_words(client: TestClient, agent: str) -> None:
    number = _case(top3=[["06010", 0.62], ["06011", 0.21], ["09006", 0.08]])
    with session_scope() as s:
        case = s.exec(select(Case).where(Case.number == number)).one()
        record_event(s, case, Action.NOTE, "agent:li", reason="已电话联系市民")
    page = client.get(f"/console/cases/{number}")
    assert page.status_code == 200
    html = page.text
    assert number in html and "东门菜市场门口垃圾满溢" in html
    assert "已立案" in html and "东门社区第1网格" in html and "区环境卫生管理处" in html  # status, grid, department
    assert "东门菜市场门口垃圾桶满了，臭味很大" in html and "短信" in html and MASKED in html
    # Who did what: the machine in Chinese, the agent by display name; internal steps with their reasons.
    assert "系统（自动分拨）" in html and "李明（坐席）" in html and "已电话联系市民" in html
    assert "机器分类" in html and "暂不派遣，转坐席确认" in html and "分类置信度低于阈值" in html
    assert 'id="case-actions"' in html and f'hx-get="/console/cases/{number}/actions"' in html
    assert 'class="cols"' in html


def test_the_header_colours_the_deadline_that_still_runs(client: TestClient, agent: str) -> None:
    number = _case()
    with session_scope() as s:
        case = s.exec(select(Case).where(Case.number == number)).one()
        case.needs_review = False
        apply_action(s, case, Action.DISPATCH, "agent:li", department_code=DEPARTMENT)
        # The clock set the deadlines from the policy; this test pins the mirror in the past.
        case.dispatch_deadline = utcnow() - timedelta(hours=30)
        case.handle_deadline = utcnow() - timedelta(hours=1)
    header = client.get(f"/console/cases/{number}/header").text
    assert 'class="due due-bad"' in header  # handling is overdue
    assert 'class="due due-none"' in header  # the dispatch deadline no longer runs: it was dispatched
    assert "已派遣" in header


def test_the_partials_render_their_blocks_only(client: TestClient, agent: str) -> None:
    number = _case()
    for part, marker in (
        ("timeline", 'id="case-timeline"'),
        ("header", 'id="case-header"'),
        ("tags", 'id="case-tags"'),
    ):
        r = client.get(f"/console/cases/{number}/{part}", headers={"HX-Request": "true"})
        assert r.status_code == 200 and marker in r.text
        assert "<html" not in r.text and 'id="case-actions"' not in r.text
        assert 'hx-trigger="case-changed from:body' in r.text


def test_department_staff_read_their_department_only_by_page_and_by_api(client: TestClient) -> None:
    mine = _case(department=DEPARTMENT)
    theirs = _case(department=OTHER_DEPARTMENT, title="别的单位的工单")
    make_user("wang", "department")
    token = login(client, "wang")
    own = client.get(f"/console/cases/{mine}")
    assert own.status_code == 200 and 'id="case-actions"' not in own.text  # the hotline's actions are not theirs
    api = client.get(f"/console/api/cases/{mine}")
    assert api.status_code == 200 and api.json()["number"] == mine
    page = client.get(f"/console/cases/{theirs}")
    assert page.status_code == 404 and "别的单位的工单" not in page.text
    refused = client.get(f"/console/api/cases/{theirs}")
    assert refused.status_code == 404 and refused.headers["content-type"].startswith("application/problem+json")
    assert "别的单位" not in refused.text
    # The same answer as a number that does not exist, on every partial too.
    assert client.get("/console/api/cases/12319-20990101-000001").status_code == 404
    assert client.get(f"/console/cases/{theirs}/timeline").status_code == 404
    # And the phone of another department's report cannot be revealed.
    r = client.post(f"/console/cases/{theirs}/reports/{_report_id(theirs)}/phone", headers={"X-CSRF-Token": token})
    assert r.status_code == 404 and PHONE not in r.text


def test_grid_workers_read_the_cases_of_their_grids_only(client: TestClient) -> None:
    mine, theirs = _case(grid=GRID), _case(grid=FAR_GRID, title="别的网格的工单")
    make_user("zhou", "grid_worker", grids=[GRID])
    login(client, "zhou")
    assert client.get(f"/console/cases/{mine}").status_code == 200
    page = client.get(f"/console/cases/{theirs}")
    assert page.status_code == 404 and "别的网格的工单" not in page.text
    assert client.get(f"/console/api/cases/{theirs}").status_code == 404


def test_the_api_answers_the_same_case_as_json_with_masked_phones(client: TestClient, agent: str) -> None:
    number = _case(top3=[["06010", 0.62], ["06011", 0.21], ["09006", 0.08]])
    body = client.get(f"/console/api/cases/{number}").json()
    assert body["status"] == "registered" and body["category"]["code"] == "06010"
    assert body["grid"]["code"] == GRID and body["department"]["code"] == DEPARTMENT
    assert body["reports"][0]["phone"] == MASKED and PHONE not in str(body)
    texts = [t["text"] for t in body["timeline"]]
    assert texts[:3] == ["创建工单「东门菜市场门口垃圾满溢」", "机器分类：暴露垃圾（06010），置信度 62%", "立案"]
    assert [g["code"] for g in body["top_categories"]] == ["06010", "06011", "09006"]


def test_the_full_phone_is_shown_only_on_a_click_that_is_audited(client: TestClient, agent: str) -> None:
    number = _case()
    rid = _report_id(number)
    page = client.get(f"/console/cases/{number}")
    assert PHONE not in page.text and "13800138000" not in page.text and MASKED in page.text
    assert not [e for e in _events(number) if e.action == EventKind.REVEAL_PHONE]
    without_token = client.post(f"/console/cases/{number}/reports/{rid}/phone")
    assert without_token.status_code == 403
    r = client.post(f"/console/cases/{number}/reports/{rid}/phone", headers={"X-CSRF-Token": agent})
    assert r.status_code == 200 and PHONE in r.text and "<html" not in r.text
    audit = [e for e in _events(number) if e.action == EventKind.REVEAL_PHONE]
    assert len(audit) == 1 and audit[0].actor == "agent:li" and audit[0].data == {"report_id": rid}
    assert PHONE not in str(audit[0].data) and PHONE not in (audit[0].reason or "")
    timeline = client.get(f"/console/cases/{number}/timeline").text
    assert f"查看了反映 #{rid} 的完整电话号码" in timeline and "李明（坐席）" in timeline and PHONE not in timeline


def test_a_report_id_of_another_case_reveals_nothing(client: TestClient, agent: str) -> None:
    number, other = _case(), _case(phone="+8613900139000")
    r = client.post(f"/console/cases/{number}/reports/{_report_id(other)}/phone", headers={"X-CSRF-Token": agent})
    assert r.status_code == 404 and "13900139000" not in r.text
    assert not [e for e in _events(number) + _events(other) if e.action == EventKind.REVEAL_PHONE]


def test_user_text_is_escaped(client: TestClient, agent: str) -> None:
    number = _case(
        title="<script>alert(1)</script>",
        text="<script>alert('x')</script><img src=x onerror=alert(2)>",
        report_fields={"raw": {"transcript": "<b>粗</b>"}},
    )
    html = client.get(f"/console/cases/{number}").text
    assert "<script>alert" not in html and "<img src=x" not in html and "<b>粗</b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "&lt;img src=x onerror=alert(2)&gt;" in html
    assert "&lt;b&gt;粗&lt;/b&gt;" in html
    csp = client.get(f"/console/cases/{number}").headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)  # no inline script
    assert " style=" not in html


def test_the_classifiers_top3_and_an_older_case_with_only_the_first(client: TestClient, agent: str) -> None:
    number = _case(top3=[["06010", 0.62], ["06011", 0.21], ["09006", 0.08]])
    tags = client.get(f"/console/cases/{number}/tags").text
    assert tags.count("<meter") == 3 and "62%" in tags and "21%" in tags and "8%" in tags
    assert "早期记录只保存了首选类别" not in tags
    old = _case()  # a classify event written before the top 3 were stored
    tags = client.get(f"/console/cases/{old}/tags").text
    assert tags.count("<meter") == 1 and "62%" in tags and "早期记录只保存了首选类别" in tags


def test_the_pipeline_stores_the_top3_in_the_classify_event(client: TestClient, agent: str) -> None:
    from intake.core import accept
    from intake.schemas import ReportIn
    from routing.pipeline import process_report

    with session_scope() as s:
        rid = accept(s, ReportIn(external_id="top3-1", text="东门菜市场门口垃圾桶满了没人清理")).report.id
    assert rid is not None
    process_report(rid)
    with session_scope() as s:
        report = s.exec(select(Report).where(Report.external_id == "top3-1")).one()
        case = s.get(Case, report.case_id)
        assert case is not None
        number = case.number
        classify = s.exec(
            select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.action == EventKind.CLASSIFY)
        ).one()
    top3 = classify.data["category_top3"]
    assert 1 <= len(top3) <= 3 and all(0.0 <= p <= 1.0 for _, p in top3)
    tags = client.get(f"/console/cases/{number}/tags").text
    assert tags.count("<meter") == len(top3)


def test_the_grid_map_draws_the_grid_its_neighbours_and_the_point(client: TestClient, agent: str) -> None:
    number = _case()
    html = client.get(f"/console/cases/{number}").text
    svg = html[html.index("<svg viewBox") : html.index("</svg>", html.index("<svg viewBox"))]
    assert f'data-grid="{GRID}"' in svg and f'data-grid="{NEIGHBOUR}"' in svg
    assert f'data-grid="{FAR_GRID}"' not in svg
    assert "东门社区第1网格" in svg and "东门社区第2网格" in svg
    assert svg.count('class="grid-main"') == 1 and 'class="report-dot"' in svg


def test_repeat_reporter_banner_links_the_same_phones_recent_cases(client: TestClient, agent: str) -> None:
    earlier = _case(title="上周的路灯", category="09006", grid=FAR_GRID, created_days_ago=5)
    too_old = _case(title="两个月前的反映", category="09006", grid=FAR_GRID, created_days_ago=60)
    stranger = _case(title="别人的反映", phone="+8613700137000", category="09006", grid=FAR_GRID)
    number = _case()
    html = client.get(f"/console/cases/{number}").text
    assert "该号码 30 天内还反映过 1 件" in html
    assert f'href="/console/cases/{earlier}"' in html and "上周的路灯" in html
    assert too_old not in html and stranger not in html
    # The banner does not list itself, and a department sees only what it may read.
    assert f'data-repeat-number="{number}"' not in html


def test_repeat_cases_of_another_department_are_not_shown_to_department_staff(client: TestClient) -> None:
    _case(title="别的单位的旧工单", department=OTHER_DEPARTMENT, grid=FAR_GRID, category="09006", created_days_ago=2)
    number = _case()
    make_user("wang", "department")
    login(client, "wang")
    html = client.get(f"/console/cases/{number}").text
    assert "别的单位的旧工单" not in html and "30 天内还反映过" not in html


def test_possible_duplicates_are_open_cases_of_the_category_in_the_grid_and_its_neighbours(
    client: TestClient, agent: str
) -> None:
    same_grid = _case(title="同网格同类", phone=None)
    next_grid = _case(title="相邻网格同类", phone=None, grid=NEIGHBOUR)
    far = _case(title="远处同类", phone=None, grid=FAR_GRID)
    other_kind = _case(title="同网格别类", phone=None, category="09006")
    closed = _case(title="同网格已结", phone=None)
    with session_scope() as s:
        c = s.exec(select(Case).where(Case.number == closed)).one()
        apply_action(s, c, Action.REJECT, "agent:li", reason="重复")
    number = _case(phone=None)
    html = client.get(f"/console/cases/{number}").text
    listed = set(re.findall(r'data-duplicate-number="([^"]+)"', html))
    assert listed == {same_grid, next_grid}
    assert far not in listed and other_kind not in listed and closed not in listed and number not in listed
    assert "相邻网格" in html


def test_the_sms_thread_of_the_reporter(client: TestClient, agent: str) -> None:
    number = _case()
    with session_scope() as s:
        case = s.exec(select(Case).where(Case.number == number)).one()
        s.add(SmsMessage(message_sid="SM1", phone=PHONE, body="垃圾桶满了 <i>快来</i>", reply="已收到，工单号稍后发送"))
        s.add(SmsMessage(message_sid="SM2", phone="+8613700137000", body="别人的短信"))
        s.add(
            SmsMessage(message_sid="SM3", phone=PHONE, body="很久以前的短信", received_at=utcnow() - timedelta(days=40))
        )
        s.add(
            OutboundMessage(
                dedupe_key="n1", kind="sms", purpose="dispatch", to_phone=PHONE, body="已派遣", case_id=case.id
            )
        )
    html = client.get(f"/console/cases/{number}").text
    assert "短信记录" in html and "垃圾桶满了 &lt;i&gt;快来&lt;/i&gt;" in html and "已收到，工单号稍后发送" in html
    assert "已派遣" in html and "派遣通知" in html
    assert "别人的短信" not in html and "很久以前的短信" not in html


def test_photos_are_thumbnails_that_open_full_size(client: TestClient, agent: str) -> None:
    import io

    from PIL import Image

    from intake.storage import store_image

    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 10, 10)).save(buf, "JPEG")
    with session_scope() as s:
        att = store_image(s, buf.getvalue()).id
    number = _case(report_fields={"attachments": [att, "https://api.twilio.com/lost-media"]})
    html = client.get(f"/console/cases/{number}").text
    assert f'<img src="/attachments/{att}/thumb"' in html and f'href="/attachments/{att}" target="_blank"' in html
    assert "另有 1 个附件未能保存" in html and "lost-media" not in html
    assert client.get(f"/attachments/{att}/thumb").headers["content-type"] == "image/jpeg"


RECORDING_SID = "RE" + "a" * 32


def test_a_voicemail_recording_plays_through_the_console(
    client: TestClient, agent: str, standin: TwilioStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hotline.settings import reset_settings

    monkeypatch.setenv("HOTLINE_TWILIO_ACCOUNT_SID", ACCOUNT)
    monkeypatch.setenv("HOTLINE_TWILIO_AUTH_TOKEN", "secret-token")
    monkeypatch.setenv("HOTLINE_TWILIO_API_BASE_URL", standin.url)
    monkeypatch.setenv("HOTLINE_TWILIO_RATE_PER_SECOND", "0")
    reset_settings()
    path = f"/2010-04-01/Accounts/{ACCOUNT}/Recordings/{RECORDING_SID}"
    standin.media[path + ".mp3"] = (b"ID3 fake mp3 bytes", "audio/mpeg")
    url = "https://api.twilio.com" + path
    number = _case(
        report_fields={
            "channel": "voice",
            "hints": {"voicemail": True},
            "attachments": [url],
            "raw": {"recording_url": url, "recording_duration": "17", "transcript": "路灯坏了"},
        }
    )
    rid = _report_id(number)
    html = client.get(f"/console/cases/{number}").text
    src = f"/console/cases/{number}/reports/{rid}/recording"
    assert f'<audio controls preload="none" src="{src}">' in html and "17 秒" in html
    assert "语音留言" in html and "路灯坏了" in html and "另有" not in html
    audio = client.get(src)
    assert audio.status_code == 200 and audio.content == b"ID3 fake mp3 bytes"
    assert audio.headers["content-type"] == "audio/mpeg"
    assert standin.requests[-1].account == ACCOUNT  # fetched with the account's credentials
    # Someone who may not read the case gets nothing, and nothing is fetched for them.
    make_user("zhao", "department", department_code=OTHER_DEPARTMENT)
    client.cookies.clear()
    login(client, "zhao")
    before = len(standin.requests)
    assert client.get(src).status_code == 404 and len(standin.requests) == before


def test_a_recording_url_that_is_not_twilios_is_never_fetched(client: TestClient, agent: str) -> None:
    number = _case(report_fields={"raw": {"recording_url": "http://169.254.169.254/latest/meta-data"}})
    rid = _report_id(number)
    assert "<audio" not in client.get(f"/console/cases/{number}").text
    assert client.get(f"/console/cases/{number}/reports/{rid}/recording").status_code == 404
