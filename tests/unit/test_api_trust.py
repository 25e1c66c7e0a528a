"""Issue 12, defects 2 and 3: every /api/v1 door checks the key and its scope, the API writes only its own
namespace, routing hints need the routing scope and are checked, the server owns received_at, every field is
bounded, intake is rate-limited per key, reads leak no internal text, and the track page wants proof only the
reporter has."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select
from twilio.request_validator import RequestValidator

from cases.db import session_scope
from cases.lifecycle import Action
from cases.models import Case, Report
from cases.service import apply_action, get_case_by_number, open_case
from hotline.settings import reset_settings
from intake.apikeys import revoke_key
from intake.camera.registry import add_camera
from intake.camera.signing import signed_headers
from intake.models import ApiKey
from intake.ratelimit import reset_limiter
from tests import telephony_fixtures as tf
from tests.conftest import make_api_key
from tests.telephony_fixtures import ACCOUNT, PUBLIC, TOKEN
from tests.twilio_standin import TwilioStandIn

standin, twilio_env = tf.standin, tf.twilio_env  # fixtures

GRID = "421102001001001"
REPORT = {"external_id": "r-1", "text": "东门菜市场门口暴露垃圾没人清理", "phone": "13800138000"}


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def reports() -> list[Report]:
    with session_scope() as s:
        return list(s.exec(select(Report)).all())


def assert_problem(r: Any, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = r.json()
    assert re.search(r"[\u4e00-\u9fff]", body["title"]), body  # a Chinese title for people
    return body


# --- who is knocking ---------------------------------------------------------------------------------


def test_post_without_or_with_a_bad_or_revoked_key_is_401_and_stores_nothing(client: TestClient) -> None:
    r = client.post("/api/v1/reports", json=REPORT)
    assert_problem(r, 401)
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert_problem(client.post("/api/v1/reports", json=REPORT, headers=bearer("hk_not-a-key")), 401)
    assert_problem(client.post("/api/v1/reports", json=REPORT, headers={"Authorization": "Basic eDp5"}), 401)
    key = make_api_key(["intake"])
    with session_scope() as s:
        row = s.exec(select(ApiKey)).one()
        revoke_key(s, str(row.id))
    assert_problem(client.post("/api/v1/reports", json=REPORT, headers=bearer(key)), 401)
    assert reports() == []


def test_a_key_without_the_scope_is_403(client: TestClient) -> None:
    reader, open311 = make_api_key(["read"]), make_api_key(["open311"])
    assert_problem(client.post("/api/v1/reports", json=REPORT, headers=bearer(reader)), 403)
    assert_problem(client.post("/api/v1/reports", json=REPORT, headers=bearer(open311)), 403)
    assert reports() == []
    writer = make_api_key(["intake"])
    r = client.post("/api/v1/reports", json=REPORT, headers=bearer(writer))
    assert r.status_code == 202, r.text
    # Reading needs `read`: the writer may not, the reader may.
    assert_problem(client.get(r.json()["status_url"], headers=bearer(writer)), 403)
    assert client.get(r.json()["status_url"], headers=bearer(reader)).status_code == 200


def test_reads_need_a_read_key(client: TestClient, api_headers: dict[str, str]) -> None:
    rid = client.post("/api/v1/reports", json=REPORT, headers=api_headers).json()["report_id"]
    number = client.get(f"/api/v1/reports/{rid}", headers=api_headers).json()["case_number"]
    for url in (f"/api/v1/reports/{rid}", f"/api/v1/cases/{number}", "/api/v1/reports/999"):
        r = client.get(url)
        assert_problem(r, 401)
        assert "东门" not in r.text and "8000" not in r.text
    assert client.get(f"/api/v1/cases/{number}", headers=api_headers).json()["number"] == number


def test_existing_open311_keys_keep_working_and_only_for_open311(client: TestClient) -> None:
    key = make_api_key(["open311"])
    form = {"api_key": key, "service_code": "06010", "lat": "30.4031", "long": "114.8431", "description": "垃圾"}
    assert client.post("/open311/v2/requests.json", data=form).status_code == 201
    intake_only = make_api_key(["intake"])
    assert client.post("/open311/v2/requests.json", data={**form, "api_key": intake_only}).status_code == 403


def test_migration_gives_keys_made_before_scopes_the_open311_scope(tmp_path: Path) -> None:
    import sqlalchemy as sa

    from hotline.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0004_classifier")
    engine = sa.create_engine(url)
    with engine.begin() as c:
        c.execute(
            sa.text(
                "INSERT INTO api_key (name, key_hash, prefix, created_at) "
                "VALUES ('partner', 'h', 'o311_abc', '2026-11-01 00:00:00')"
            )
        )
    upgrade(url)
    with engine.begin() as c:
        assert json.loads(c.execute(sa.text("SELECT scopes FROM api_key")).scalar_one()) == ["open311"]
    engine.dispose()


# --- namespaces ----------------------------------------------------------------------------------------


def _camera_alert(client: TestClient) -> Any:
    with session_scope() as s:
        cam = add_camera(s, "CAM-N", grid_code=GRID, event_map={"garbage_exposed": "06010"}, auto_dispatch=True)
    body = b'{"event_type": "garbage_exposed", "confidence": 0.9}'
    headers = {**signed_headers(cam.id, cam.secret, body), "Content-Type": "application/json"}
    return client.post("/api/v1/camera-alerts", content=body, headers=headers)


def test_camera_namespace_spoof_is_refused_and_the_real_alert_is_stored(
    client: TestClient, api_headers: dict[str, str]
) -> None:
    for ext in ("incident-1", "incident-2"):  # the next incident ids
        spoof = {"channel": "camera", "external_id": ext, "text": "假的摄像头告警"}
        assert_problem(client.post("/api/v1/reports", json=spoof, headers=api_headers), 403)
    r = _camera_alert(client)
    assert r.status_code == 202 and r.json()["status"] == "created", r.text
    with session_scope() as s:
        report = s.get(Report, r.json()["report_id"])
        assert report is not None and report.channel == "camera" and report.text.startswith("摄像头告警")
        assert report.hints["camera_id"] == "CAM-N"
    assert all(rep.text != "假的摄像头告警" for rep in reports())


def _signed_sms(client: TestClient, sid: str, body: str) -> Any:
    params = {
        "MessageSid": sid,
        "AccountSid": ACCOUNT,
        "From": "+8613911112222",
        "To": "+8671312319",
        "Body": body,
        "NumMedia": "0",
    }
    sig = RequestValidator(TOKEN).compute_signature(PUBLIC + "/twilio/sms", params)
    return client.post("/twilio/sms", data=params, headers={"X-Twilio-Signature": sig})


def test_message_sid_spoof_is_refused_and_the_residents_sms_is_stored(
    client: TestClient, twilio_env: TwilioStandIn, api_headers: dict[str, str]
) -> None:
    sid = "SM" + uuid.uuid4().hex
    for channel in ("sms", "voice", "web", "open311"):
        spoof = {"channel": channel, "external_id": sid, "text": "抢先占用"}
        assert_problem(client.post("/api/v1/reports", json=spoof, headers=api_headers), 403)
    assert _signed_sms(client, sid, "青砖湖公园门口垃圾满溢没人管").status_code == 200
    with session_scope() as s:
        report = s.exec(select(Report).where(Report.channel == "sms", Report.external_id == sid)).one()
        assert report.text == "青砖湖公园门口垃圾满溢没人管" and report.case_id is not None


def test_external_ids_are_per_key(client: TestClient) -> None:
    a, b = make_api_key(["intake"], "a"), make_api_key(["intake"], "b")
    first = client.post("/api/v1/reports", json=REPORT, headers=bearer(a))
    again = client.post("/api/v1/reports", json=REPORT, headers=bearer(a))
    other = client.post("/api/v1/reports", json=REPORT, headers=bearer(b))
    assert first.status_code == 202 and again.status_code == 200 and other.status_code == 202
    assert again.json()["report_id"] == first.json()["report_id"] != other.json()["report_id"]
    assert {r.channel for r in reports()} == {"api"} and len(reports()) == 2


# --- routing hints -----------------------------------------------------------------------------------------


def test_hints_need_the_routing_scope(client: TestClient) -> None:
    key = make_api_key(["intake", "read"])
    forced = {"text": "随便写点什么", "hints": {"category_code": "01011", "grade": "urgent"}}
    assert_problem(client.post("/api/v1/reports", json=forced, headers=bearer(key)), 403)
    with session_scope() as s:
        case = open_case(s, actor="test", title="别人的案件")
        s.commit()
        case_id = case.id
    linked = {"text": "附加到别人的案件", "hints": {"link_case_id": case_id}}
    assert_problem(client.post("/api/v1/reports", json=linked, headers=bearer(key)), 403)
    assert reports() == []


@pytest.mark.parametrize(
    "hints",
    [
        {"link_case_id": "abc"},
        {"link_case_id": 99999},
        {"link_case_id": True},
        {"link_case_id": 2**63},
        {"category_code": "77777"},
        {"category_code": 6010},
        {"grade": "extreme"},
        {"needs_review": "yes"},
        {"camera_grid_code": "999999999999999"},
        {"department_code": "sanitation"},
    ],
)
def test_bad_hints_are_422_never_a_failing_job(
    client: TestClient, api_headers: dict[str, str], hints: dict[str, Any]
) -> None:
    r = client.post("/api/v1/reports", json={"text": "东门菜市场暴露垃圾", "hints": hints}, headers=api_headers)
    assert_problem(r, 422)
    assert reports() == []


def test_link_to_a_closed_case_is_422(client: TestClient, api_headers: dict[str, str]) -> None:
    with session_scope() as s:
        case = open_case(s, actor="test", title="已结案")
        apply_action(s, case, Action.REJECT, "test")
        s.commit()
        case_id = case.id
    r = client.post(
        "/api/v1/reports", json={"text": "再说一次", "hints": {"link_case_id": case_id}}, headers=api_headers
    )
    assert_problem(r, 422)


def test_good_hints_from_a_routing_key_are_used(client: TestClient, api_headers: dict[str, str]) -> None:
    r = client.post(
        "/api/v1/reports",
        headers=api_headers,
        json={
            "text": "啊啊啊",
            "location": {"lat": 30.4031, "lon": 114.8431},
            "hints": {"category_code": "06010", "grade": "urgent"},
        },
    )
    assert r.status_code == 202, r.text
    number = client.get(r.json()["status_url"], headers=api_headers).json()["case_number"]
    case = client.get(f"/api/v1/cases/{number}", headers=api_headers).json()
    assert case["category"]["code"] == "06010" and case["grade"] == "urgent"


# --- bounds ------------------------------------------------------------------------------------------------


def _nested(depth: int) -> dict[str, Any]:
    v: dict[str, Any] = {}
    for _ in range(depth):
        v = {"a": v}
    return v


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"text": "   "},
        {"phone": "13800138000"},
        {"location": {"lat": 30.4}},
        {"text": "x", "received_at": "0001-01-01T00:00:00Z"},
        {"text": "x", "reported_at": "0001-01-01T00:00:00Z"},
        {"text": "x", "reported_at": "9999-12-31T00:00:00Z"},
        {"text": "x", "reported_at": "2026-12-01T08:00:00"},
        {"text": "x", "raw": {"blob": "x" * (1024 * 1024)}},
        {"text": "x", "raw": _nested(40)},
        {"text": "x" * 10_001},
        {"text": "x", "attachments": ["../../etc/passwd"]},
        {"text": "x", "attachments": ["att_" + "0" * 32]},  # well formed, but nothing is stored under it
        {"text": "x", "attachments": ["https://a.example/p.jpg"] * 21},
        {"text": "x", "external_id": "有 空格"},
        {"text": "x", "external_id": "x" * 101},
        {"text": "x", "unknown_field": 1},
        {"text": "x", "location": {"address": "路" * 501}},
    ],
    ids=lambda b: ",".join(b) or "empty",
)
def test_unbounded_or_empty_input_is_a_422(
    client: TestClient, api_headers: dict[str, str], body: dict[str, Any]
) -> None:
    assert_problem(client.post("/api/v1/reports", json=body, headers=api_headers), 422)
    assert reports() == []


def test_empty_report_title_says_what_is_missing(client: TestClient, api_headers: dict[str, str]) -> None:
    body = assert_problem(client.post("/api/v1/reports", json={}, headers=api_headers), 422)
    assert body["title"].startswith("上报内容为空")


def test_the_server_sets_received_at_and_keeps_the_callers_time_as_data(
    client: TestClient, api_headers: dict[str, str]
) -> None:
    said = (datetime.now(UTC) - timedelta(days=3)).replace(microsecond=0)
    before = datetime.now(UTC)
    r = client.post(
        "/api/v1/reports",
        headers=api_headers,
        json={"text": "路灯不亮", "reported_at": said.isoformat(), "raw": {"source": "app"}},
    )
    assert r.status_code == 202, r.text
    [report] = reports()
    assert report.received_at >= before - timedelta(seconds=1)
    assert report.raw == {"source": "app", "reported_at": said.isoformat()}


def test_intake_is_rate_limited_per_key(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOTLINE_API_INTAKE_PER_MINUTE", "3")
    reset_settings()
    reset_limiter()
    a, b = make_api_key(["intake"], "a"), make_api_key(["intake"], "b")
    codes = [
        client.post("/api/v1/reports", json={"text": f"路灯不亮{i}"}, headers=bearer(a)).status_code for i in range(3)
    ]
    assert codes == [202, 202, 202]
    r = client.post("/api/v1/reports", json={"text": "再来一条"}, headers=bearer(a))
    assert_problem(r, 429)
    assert 1 <= int(r.headers["retry-after"]) <= 60
    assert client.post("/api/v1/reports", json={"text": "另一个调用方"}, headers=bearer(b)).status_code == 202
    assert len(reports()) == 4
    reset_limiter()


# --- no internal text in answers -----------------------------------------------------------------------


def test_report_view_does_not_expose_last_error(client: TestClient, api_headers: dict[str, str]) -> None:
    rid = client.post("/api/v1/reports", json=REPORT, headers=api_headers).json()["report_id"]
    leak = "(psycopg.errors.UniqueViolation) INSERT INTO report ... {'phone': '+8613800138000'}"
    with session_scope() as s:
        report = s.get(Report, rid)
        assert report is not None
        report.last_error, report.processing_status = leak, "failed"
        s.add(report)
        s.commit()
    r = client.get(f"/api/v1/reports/{rid}", headers=api_headers)
    assert r.status_code == 200
    assert "last_error" not in r.json() and "psycopg" not in r.text and "+8613800138000" not in r.text
    assert r.json()["processing_status"] == "failed"


def test_invalid_phone_problem_has_no_exception_text(client: TestClient, api_headers: dict[str, str]) -> None:
    body = assert_problem(
        client.post("/api/v1/reports", json={"text": "井盖丢了", "phone": "12"}, headers=api_headers), 422
    )
    assert "12" not in body.get("detail", "")


# --- the track page ------------------------------------------------------------------------------------------


def _page_token(client: TestClient, path: str = "/h5/track") -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text)
    assert m
    return m.group(1)


def _verified_case(client: TestClient, api_headers: dict[str, str], phone: str | None = "13800138000") -> str:
    body = {**REPORT, "phone": phone} if phone else {"text": REPORT["text"]}
    rid = client.post("/api/v1/reports", json=body, headers=api_headers).json()["report_id"]
    number = str(client.get(f"/api/v1/reports/{rid}", headers=api_headers).json()["case_number"])
    with session_scope() as s:
        case = get_case_by_number(s, number)
        assert case is not None
        for a in (Action.ACCEPT, Action.HANDLE, Action.VERIFY):
            apply_action(s, case, a, "dept:test")
        s.commit()
    return number


def _status(number: str) -> str:
    with session_scope() as s:
        case = get_case_by_number(s, number)
        assert case is not None
        return case.status


def test_last_four_digits_no_longer_reopen_a_case(client: TestClient, api_headers: dict[str, str]) -> None:
    """The exploit: the masked phone's last four digits (from the API) + the case number → 不满意 → reopened."""
    reset_limiter()
    number = _verified_case(client, api_headers)
    csrf = _page_token(client)
    r = client.post(
        "/h5/track/rate",
        data={"csrf_token": csrf, "number": number, "last4": "8000", "rating": "unsatisfied", "comment": "x"},
    )
    assert r.status_code == 404
    looked = client.post("/h5/track", data={"csrf_token": csrf, "number": number, "last4": "8000"})
    assert looked.status_code in (404, 422) and "rate-form" not in looked.text
    forged = client.post("/h5/track/rate", data={"csrf_token": csrf, "t": "A" * 22, "rating": "unsatisfied"})
    assert forged.status_code == 404
    assert _status(number) == "verified"
    reset_limiter()


def test_anonymous_case_is_not_shown_by_number(client: TestClient, api_headers: dict[str, str]) -> None:
    reset_limiter()
    number = _verified_case(client, api_headers, phone=None)
    csrf = _page_token(client)
    for phone in ("", "13800138000"):
        r = client.post("/h5/track", data={"csrf_token": csrf, "number": number, "phone": phone})
        assert r.status_code in (404, 422) and 'id="timeline"' not in r.text
    reset_limiter()


@pytest.mark.usefixtures("no_follow_up_jobs")
def test_the_texted_link_opens_and_rates_the_case(
    client: TestClient, twilio_env: TwilioStandIn, api_headers: dict[str, str]
) -> None:
    reset_limiter()
    from intake.telephony import outbound

    number = _verified_case(client, api_headers)
    with session_scope() as s:
        case = get_case_by_number(s, number)
        assert case is not None and case.id is not None
        report_id = s.exec(select(Report).where(Report.case_id == case.id)).one().id
    assert report_id is not None
    outbound.send_case_number(report_id)
    [sms] = [m for m in twilio_env.messages() if number in m["Body"]]
    link = re.search(r"/h5/t/([A-Za-z0-9_-]+)", sms["Body"])
    assert link
    with session_scope() as s:
        from intake.models import TrackToken

        assert all(link.group(1) not in row.token_hash for row in s.exec(select(TrackToken)).all())
    page = client.get(link.group(0))
    assert page.status_code == 200 and number in page.text and "rate-form" in page.text
    csrf = _page_token(client)
    r = client.post("/h5/track/rate", data={"csrf_token": csrf, "t": link.group(1), "rating": "unsatisfied"})
    assert r.status_code == 200 and "重新办理" in r.text
    assert _status(number) == "reopened"
    reset_limiter()


def test_guessing_the_phone_is_limited_per_case(
    client: TestClient, api_headers: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    reset_limiter()
    monkeypatch.setenv("HOTLINE_TRACK_ATTEMPTS_PER_CASE_PER_HOUR", "3")
    reset_settings()
    number = _verified_case(client, api_headers)
    csrf = _page_token(client)
    wrong = [
        client.post("/h5/track", data={"csrf_token": csrf, "number": number, "phone": f"1380013{i:04d}"})
        for i in range(3)
    ]
    assert [r.status_code for r in wrong] == [404, 404, 404]
    assert len({r.text.replace(csrf, "") for r in wrong}) >= 1  # same message every time
    right = client.post("/h5/track", data={"csrf_token": csrf, "number": number, "phone": "13800138000"})
    assert right.status_code == 429 and 'id="timeline"' not in right.text
    reset_limiter()


def test_web_form_success_page_carries_the_link(client: TestClient) -> None:
    reset_limiter()
    csrf = _page_token(client, "/h5/")
    r = client.post(
        "/h5/report",
        follow_redirects=False,
        data={
            "csrf_token": csrf,
            "description": "青砖湖路灯不亮了",
            "address": "",
            "phone": "",
            "community_code": "421102001002",
        },
    )
    assert r.status_code == 303
    page = client.get(r.headers["location"])
    link = re.search(r'href="(/h5/t/[A-Za-z0-9_-]+)"', page.text)
    assert link, page.text
    opened = client.get(link.group(1))
    assert opened.status_code == 200 and 'id="timeline"' in opened.text
    with session_scope() as s:
        assert s.exec(select(Case)).one().number in opened.text
    reset_limiter()


def test_open311_public_answers_hide_phone_numbers_in_the_text(client: TestClient) -> None:
    from intake.core import accept
    from intake.schemas import ReportIn

    with session_scope() as s:
        accept(
            s,
            ReportIn(
                channel="sms",
                external_id="SM-pub-1",
                phone="13911112222",
                text="东门菜市场门口暴露垃圾，我电话139 1111 2222，找张三",
            ),
        )
    with session_scope() as s:
        number = s.exec(select(Case)).one().number
    for url in (
        f"/open311/v2/requests/{number}.json",
        "/open311/v2/requests.json",
        f"/open311/v2/requests/{number}.xml",
    ):
        r = client.get(url)
        assert r.status_code == 200, r.text
        assert "2222" not in r.text and "1391111" not in r.text and "暴露垃圾" in r.text


def test_sms_query_answers_only_the_reporters_own_cases(client: TestClient, twilio_env: TwilioStandIn) -> None:
    assert _signed_sms(client, "SM" + uuid.uuid4().hex, "青砖湖公园路灯坏了").status_code == 200
    with session_scope() as s:
        number = s.exec(select(Case)).one().number
    params = {
        "MessageSid": "SM" + uuid.uuid4().hex,
        "AccountSid": ACCOUNT,
        "From": "+8613700001111",
        "To": "+8671312319",
        "Body": f"查询 {number}",
        "NumMedia": "0",
    }
    sig = RequestValidator(TOKEN).compute_signature(PUBLIC + "/twilio/sms", params)
    other = client.post("/twilio/sms", data=params, headers={"X-Twilio-Signature": sig})
    assert other.status_code == 200 and "没有找到" in other.text and "当前状态" not in other.text
    own = _signed_sms(client, "SM" + uuid.uuid4().hex, f"查询 {number}")
    assert "当前状态" in own.text
