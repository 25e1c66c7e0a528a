"""Hostile input, door by door: one check per door, run on SQLite (tests/unit/test_hostile_*.py) and on
the real PostgreSQL (tests/integration/test_hostile_pg.py), since NUL and integer ranges bite there.

Each check asserts the door's contract: bad input gets a 4xx in the door's own error format (problem+json,
Open311's error list, a Chinese HTML page, TwiML), what a resident wrote is stored without unstorable
characters, and every answer parses. `Tally` counts what was sent and every 5xx seen.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from xml.etree import ElementTree as ET

from fastapi.testclient import TestClient
from sqlmodel import select
from twilio.request_validator import RequestValidator

from cases.db import session_scope
from cases.models import Report
from cases.sanitize import DB_INT_MAX, has_unsafe
from intake.camera.models import Camera
from intake.telephony.models import SmsMessage

# Every C0 control PostgreSQL or XML 1.0 refuses, NUL first; tab, LF and CR are allowed everywhere.
CONTROLS = "\x00\x01\x02\x07\x08\x0b\x0c\x0e\x1b\x1f"
DIRTY = f"东门菜市场{CONTROLS}门口暴露垃圾\ufffe\uffff"
CLEAN = "东门菜市场门口暴露垃圾"
# JSON carries NUL as an escape (and a lone surrogate, which pydantic refuses as not a string: a 422).
JSON_DIRTY = '"东门\\u0000菜市场门口\\u0001暴露垃圾"'
HUGE_IDS = [2**31, 2**63, 2**64, 9223372036854775808, 10**30, -1, 0]
RESIDENT = "+8613655554444"  # the phone the hostile reports carry; tests/conftest.py greps the logs for it


# Figures of the attack suites in this session, printed in pytest's closing summary (tests/conftest.py).
FIGURES: list[str] = []


def api_auth_headers() -> dict[str, str]:
    """Credentials for /api/v1 in the hostile and schemathesis suites: a fresh key with every intake
    scope (intake, read, routing), made in the database the settings point at now, so the suites reach
    past authentication and exercise the checks behind it."""
    from tests.conftest import make_api_key

    return {"Authorization": f"Bearer {make_api_key(name='hostile')}"}


@dataclass
class Tally:
    sent: int = 0
    server_errors: list[str] = field(default_factory=list)

    def saw(self, r: Any, what: str) -> Any:
        self.sent += 1
        if r.status_code >= 500:
            self.server_errors.append(f"{what}: {r.status_code} {r.text[:200]}")
        return r


def hostile_camera() -> Any:
    """The registered camera whose correctly signed alerts the camera door's checks send."""
    from cases.db import session_scope
    from intake.camera.registry import add_camera

    with session_scope() as s:
        return add_camera(
            s,
            "CAM-H-01",
            name="东门",
            lat=30.403,
            lon=114.843,
            address="东门",
            grid_code="421102001001001",
            event_map={"garbage_exposed": "06010"},
            min_confidence=0.6,
            auto_dispatch=True,
        )


def tallied(backend: str, test_name: str) -> Iterator[Tally]:
    """Body of each suite module's `tally` fixture: count the test's requests, put its figure in the
    closing summary, and fail it on any 5xx."""
    t = Tally()
    yield t
    FIGURES.append(f"hostile suite, {backend}, {test_name}: {t.sent} requests sent, {len(t.server_errors)} 5xx seen")
    assert t.server_errors == []


def hostile_client(app: Any) -> Iterator[TestClient]:
    """A client that returns 5xx answers instead of raising, so a suite counts them all."""
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def is_problem(r: Any, status: int | tuple[int, ...]) -> bool:
    statuses = (status,) if isinstance(status, int) else status
    if r.status_code not in statuses or not r.headers["content-type"].startswith("application/problem+json"):
        return False
    body = r.json()
    return isinstance(body.get("title"), str) and re.search(r"[\u4e00-\u9fff]", body["title"]) is not None


def is_chinese_html(r: Any, status: int) -> bool:
    return (
        r.status_code == status
        and r.headers["content-type"].startswith("text/html")
        and re.search(r"[\u4e00-\u9fff]", r.text) is not None
    )


def parse_xml(r: Any) -> ET.Element:
    """The answer as XML; raises (failing the test) when another client could not parse it either."""
    return ET.fromstring(r.content)


# ---------------------------------------------------------------------------------------------- /api/v1


def check_api(c: TestClient, tally: Tally, headers: dict[str, str]) -> None:
    def post(body: str, what: str) -> Any:
        return tally.saw(
            c.post(
                "/api/v1/reports",
                content=body.encode("utf-8", "surrogatepass"),
                headers={**headers, "Content-Type": "application/json"},
            ),
            what,
        )

    # Text a caller sent is stored without the characters; the report is readable afterwards.
    r = post(
        json.dumps(
            {
                "text": DIRTY,
                "phone": RESIDENT,
                "location": {"address": f"东门{CONTROLS}北门"},
                "raw": {f"k{CONTROLS}": [f"v{CONTROLS}"]},
            }
        ),
        "dirty text",
    )
    assert r.status_code == 202, r.text
    report_id = r.json()["report_id"]
    r = post('{"text": ' + JSON_DIRTY + "}", "json escapes")
    assert r.status_code == 202, r.text
    with session_scope() as s:
        report = s.get(Report, report_id)
        assert report is not None
        assert report.text == CLEAN and report.address == "东门北门" and report.raw == {"k": ["v"]}
        escaped = s.get(Report, r.json()["report_id"])
        assert escaped is not None and escaped.text == "东门菜市场门口暴露垃圾"
    got = tally.saw(c.get(f"/api/v1/reports/{report_id}", headers=headers), "read back")
    assert got.status_code == 200 and not has_unsafe(got.text)

    # Identifiers are refused, not changed: a retry must find the same report.
    for ext in ["a\x00b", "a\x1fb", "\x00"]:
        r = post(json.dumps({"text": "x", "external_id": ext}), f"external_id {ext!r}")
        assert is_problem(r, 422), r.text
    for body in ['{"text": "x", "external_id": "a\\ud800b"}', '{"text": "a\\udfffb"}']:
        r = post(body, "lone surrogate")
        assert is_problem(r, 422), r.text
    r = post(json.dumps({"text": "x" * 10_001}), "oversized text")
    assert is_problem(r, 422), r.text
    r = post(json.dumps({"text": "x", "location": {"lat": 1e308, "lon": -1e308}}), "huge coordinates")
    assert is_problem(r, 422), r.text
    r = tally.saw(
        c.post("/api/v1/reports", content=b"\xff\xfe{", headers={**headers, "Content-Type": "application/json"}),
        "not utf-8",
    )
    assert is_problem(r, (400, 422)), r.text

    # Ids beyond the INTEGER column, and lookups with control characters.
    for n in HUGE_IDS:
        r = tally.saw(c.get(f"/api/v1/reports/{n}", headers=headers), f"report {n}")
        assert is_problem(r, 422), (n, r.text)
    r = tally.saw(c.get(f"/api/v1/reports/{DB_INT_MAX}", headers=headers), "report at the bound")
    assert is_problem(r, 404), r.text
    for number in ["a%00b", "12319-20261202-%00", "%1F", "%ED%A0%80", "x?q=%00"]:
        r = tally.saw(c.get(f"/api/v1/cases/{number}", headers=headers), f"case {number}")
        assert is_problem(r, (404, 422)), (number, r.status_code, r.text)


# -------------------------------------------------------------------------------------------- Open311


def check_open311(c: TestClient, tally: Tally, api_key: str) -> None:
    base = "/open311/v2"
    form = {
        "api_key": api_key,
        "service_code": "06010",
        "lat": "30.403",
        "long": "114.843",
        "description": DIRTY,
        "address_string": f"东门{CONTROLS}北门",
        "first_name": f"San{CONTROLS}",
        "phone": RESIDENT,
    }
    for fmt in ("json", "xml"):
        r = tally.saw(c.post(f"{base}/requests.{fmt}", data=form), f"POST requests.{fmt}")
        assert r.status_code == 201, r.text
        if fmt == "xml":
            parse_xml(r)
    # A row stored before intake cleaned text (or by any other path) must not break the public feed.
    with session_scope() as s:
        old = s.exec(select(Report).where(Report.channel == "open311")).first()
        assert old is not None and old.text == CLEAN
        old.text = "旧数据\x01\x08\x1b" if s.get_bind().dialect.name == "sqlite" else "旧数据"
        s.add(old)
        s.commit()

    for fmt, field_, value in [
        ("json", "service_code", "06\x00010"),
        ("xml", "api_key", f"{api_key}\x00"),
        ("xml", "jurisdiction_id", "a\x00"),
        ("json", f"x{CONTROLS}", "1"),
    ]:
        r = tally.saw(c.post(f"{base}/requests.{fmt}", data={**form, field_: value}), f"POST {field_!r}")
        assert r.status_code == 400, r.text
        errors = parse_xml(r).findall("error") if fmt == "xml" else r.json()
        assert len(errors) == 1
    for over in [
        {"description": "x" * 4001},
        {"phone": "1" * 41},
        {"first_name": "名" * 100_000},
        {"media_url": "https://e.org/" + "x" * 1000},
        {"address_string": "址" * 301},
    ]:
        r = tally.saw(c.post(f"{base}/requests.json", data={**form, **over}), f"long {list(over)}")
        assert r.status_code == 400 and "too long" in r.json()[0]["description"], r.text[:200]

    bad_queries: list[dict[str, str]] = [
        {"start_date": "9999-12-31T00:00:00Z"},
        {"end_date": "0001-01-02T00:00:00Z"},
        {"start_date": "0001-01-01T00:00:00+14:00"},
        {"end_date": "9999-12-31T23:59:59-12:00"},
        {"start_date": "2026-13-01T00:00:00Z"},
        {"start_date": "1e400"},
        {"page_size": "-1"},
        {"page_size": "0"},
        {"page_size": "abc"},
        {"page_size": "١٢"},
        {"page_size": "1_000"},
        {"page_size": "-" + "9" * 5000},
        {"status": "open\x00"},
        {"service_code": "06010\x00"},
        {"service_request_id": "a\x00b"},
    ]
    for params in bad_queries:
        for fmt in ("json", "xml"):
            r = tally.saw(c.get(f"{base}/requests.{fmt}", params=params), f"GET requests.{fmt} {params}")
            assert r.status_code in (400, 422), (str(params)[:80], r.status_code, r.text[:200])
            if fmt == "xml":
                assert [e.findtext("description") for e in parse_xml(r).findall("error")] != [], r.text
            else:
                assert all("description" in e for e in r.json()), r.text
    for params in [
        {"page_size": "5000"},
        {"page_size": "9" * 5000},
        {"page_size": "1"},
        {"start_date": "2026-12-01T08:00:00+08:00"},
    ]:
        r = tally.saw(c.get(f"{base}/requests.json", params=params), f"GET requests.json {params}")
        assert r.status_code == 200, (str(params)[:80], r.text[:200])

    # Every XML answer parses, whatever was stored.
    feed = tally.saw(c.get(f"{base}/requests.xml"), "feed")
    assert feed.status_code == 200
    requests = parse_xml(feed).findall("request")
    assert len(requests) >= 2 and all(not has_unsafe(e.text or "") for e in parse_xml(feed).iter())
    number = requests[0].findtext("service_request_id")
    paths = [
        f"requests/{number}",
        "services",
        "services/06010",
        "discovery",
        "requests/a%00b",
        "services/a%00b",
        "tokens/a%00b",
        "tokens/%1F",
        f"requests/{number}%00",
    ]
    for path in paths:
        r = tally.saw(c.get(f"{base}/{path}.xml"), f"GET {path}.xml")
        assert r.status_code < 500, (path, r.text)
        parse_xml(r)
        j = tally.saw(c.get(f"{base}/{path}.json"), f"GET {path}.json")
        assert j.status_code == r.status_code and isinstance(j.json(), list | dict)


# ------------------------------------------------------------------------------------------- H5 pages


def csrf_token(c: TestClient, path: str = "/h5/") -> str:
    r = c.get(path)
    m = re.search(r'name="csrf_token" value="([^"]+)"', r.text)
    assert r.status_code == 200 and m
    return m.group(1)


def check_web(c: TestClient, tally: Tally) -> None:
    data = {
        "csrf_token": csrf_token(c),
        "description": DIRTY,
        "address": f"东门{CONTROLS}北门",
        "phone": RESIDENT,
        "category_code": f"060{CONTROLS}10",
        "lat": "",
        "lon": "",
    }
    r = tally.saw(c.post("/h5/report", data=data, follow_redirects=False), "dirty form")
    assert r.status_code == 303, r.text[:300]
    with session_scope() as s:
        report = s.exec(select(Report).where(Report.channel == "web").order_by(Report.id.desc())).first()  # type: ignore[union-attr]
        assert report is not None and report.text == CLEAN and report.address == "东门北门"
        assert report.hints.get("category_code") == "06010"
    page = tally.saw(c.get(r.headers["location"]), "submitted page")
    assert page.status_code == 200

    for fields in [
        {"description": "x" * 2001},
        {"lat": "1e400", "lon": "nan"},
        {"lat": "９０", "lon": "-inf"},
        {"community_code": "\x00nowhere"},
        {"phone": "1\x003\x008"},
    ]:
        r = tally.saw(
            c.post("/h5/report", data={**data, "csrf_token": csrf_token(c), **fields}, follow_redirects=False),
            f"form {fields}",
        )
        assert is_chinese_html(r, 422), (fields, r.status_code)
    for bad_token in ["²." + "0" * 32, "1.é", "9" * 5000 + ".x", "\x00.\x00", ".."]:
        r = tally.saw(
            c.post("/h5/report", data={**data, "csrf_token": bad_token}, follow_redirects=False),
            f"csrf {bad_token[:10]!r}",
        )
        assert is_chinese_html(r, 400), (bad_token[:10], r.status_code)
    for token in ["².abc", "1.é", "9" * 5000 + ".x", "%00", "1.%00"]:
        for suffix in ("", "/status"):
            r = tally.saw(c.get(f"/h5/submitted/{token}{suffix}"), f"submitted {token[:10]}{suffix}")
            assert 400 <= r.status_code < 500, (token[:10], suffix, r.status_code)

    r = tally.saw(c.get("/h5/categories", params={"q": "垃圾\x00"}), "category search with NUL")
    assert r.status_code == 422 and "无效" in r.text and "<html" not in r.text  # a fragment, not a page
    r = tally.saw(c.get("/h5/categories", params={"q": "垃" * 5000}), "long category search")
    assert r.status_code == 200
    r = tally.saw(c.get("/h5/track", params={"number": "a\x00b"}), "track page with NUL")
    assert is_chinese_html(r, 422)
    r = tally.saw(
        c.post(
            "/h5/track",
            data={"csrf_token": csrf_token(c, "/h5/track"), "number": "a\x00b", "last4": "\x00\x00\x00\x00"},
        ),
        "track lookup with NUL",
    )
    assert 400 <= r.status_code < 500 and "text/html" in r.headers["content-type"]


# ------------------------------------------------------------------------------------------- Twilio


def signed(c: TestClient, path: str, params: dict[str, str], token: str, public: str) -> Any:
    """POST exactly as Twilio does: form parameters, signed over the public URL + sorted params."""
    sig = RequestValidator(token).compute_signature(public + path, params)
    return c.post(path, data=params, headers={"X-Twilio-Signature": sig})


def check_twilio(c: TestClient, tally: Tally, token: str, public: str, account: str) -> None:
    sid = "SM" + uuid.uuid4().hex
    params = {
        "MessageSid": sid,
        "AccountSid": account,
        "From": RESIDENT,
        "To": "+8671312319",
        "Body": DIRTY,
        "NumMedia": "0",
    }
    first = tally.saw(signed(c, "/twilio/sms", params, token, public), "SMS with NUL")
    assert first.status_code == 200, first.text
    parse_xml(first)
    again = tally.saw(signed(c, "/twilio/sms", params, token, public), "SMS retried")
    assert again.status_code == 200 and again.text == first.text
    with session_scope() as s:
        [msg] = s.exec(select(SmsMessage).where(SmsMessage.message_sid == sid)).all()
        assert msg.body == CLEAN
        [report] = s.exec(select(Report).where(Report.external_id == sid)).all()
        assert report.text == CLEAN and not has_unsafe(json.dumps(report.raw))

    for body in ["\x00", "查询 \x00123", "STOP\x00", "\x1f" * 2000]:
        p = {**params, "MessageSid": "SM" + uuid.uuid4().hex, "Body": body}
        r = tally.saw(signed(c, "/twilio/sms", p, token, public), f"SMS {body[:5]!r}")
        assert r.status_code == 200, r.text
        parse_xml(r)
    p = {**params, "MessageSid": "SM" + uuid.uuid4().hex, "From": "+86136\x005555\x004444", "NumMedia": "x"}
    r = tally.saw(signed(c, "/twilio/sms", p, token, public), "SMS odd From/NumMedia")
    assert r.status_code == 200, r.text

    call = {
        "CallSid": "CA" + uuid.uuid4().hex,
        "AccountSid": account,
        "From": f"{RESIDENT}\x00",
        "To": "+8671312319",
        "CallStatus": "ringing",
        "Direction": "inbound",
    }
    r = tally.saw(signed(c, "/twilio/voice", call, token, public), "call with NUL")
    assert r.status_code == 200, r.text
    parse_xml(r)
    for duration in ["²", "9" * 40, "-1", "\x00"]:
        r = tally.saw(
            signed(
                c, "/twilio/voice/status", {**call, "CallStatus": "completed", "CallDuration": duration}, token, public
            ),
            "duration",
        )
        assert r.status_code == 204, (duration, r.text)
    for n in HUGE_IDS:
        agent = [f"/twilio/agent/{hook}?ac={n}" for hook in ("answer", "dequeue", "resident", "dial", "status")]
        for path in (
            f"/twilio/voice/status?om={n}",
            f"/twilio/sms/status?om={n}",
            *agent,
        ):
            r = tally.saw(signed(c, path, call, token, public), path)
            assert is_problem(r, 422), (path, r.status_code, r.text)
    r = tally.saw(c.post("/twilio/sms", data=params), "unsigned")
    assert is_problem(r, 403), r.text


# ------------------------------------------------------------------------------------------- cameras


def check_camera(c: TestClient, tally: Tally, camera: Camera) -> None:
    from intake.camera.signing import signed_headers

    def post(alert: dict[str, Any] | str, what: str, camera_id: str | None = None) -> Any:
        body = (alert if isinstance(alert, str) else json.dumps(alert)).encode("utf-8", "surrogatepass")
        headers = signed_headers(camera_id or camera.id, camera.secret, body)
        return tally.saw(
            c.post("/api/v1/camera-alerts", content=body, headers={**headers, "Content-Type": "application/json"}), what
        )

    good = {"event_id": "ev-1", "event_type": "garbage_exposed", "confidence": 0.9}
    for over in [
        {"event_type": "garbage\x00exposed"},
        {"event_id": "ev\x00"},
        {"event_type": "\x1f"},
        {"confidence": 1e400},
        {"occurred_at": "9999-99-99"},
        {"bbox": [1e400, 0, 0, 0, 0]},
    ]:
        r = post({**good, **over}, f"alert {over}")
        assert is_problem(r, 422), (over, r.status_code, r.text)
    r = post('{"event_type": "a\\ud800", "confidence": 0.9}', "surrogate event_type")
    assert is_problem(r, 422), r.text
    r = post(good, "unknown camera with control chars", camera_id="CAM\x01")
    assert is_problem(r, 401), r.text
    r = post({**good, "occurred_at": "0001-01-01T00:00:00+14:00"}, "year 1 in a far zone")
    assert r.status_code < 500, r.text
