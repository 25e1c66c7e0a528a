"""Open311 GeoReport v2 through the app: services, requests POST/GET with filters, tokens, XML, errors."""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree as ET

import pytest
from fastapi.testclient import TestClient

from cases.db import session_scope
from cases.lifecycle import Action
from cases.service import apply_action, get_case_by_number
from intake.open311.keys import create_key, list_keys, revoke_key

BASE = "/open311/v2"


@pytest.fixture
def api_key(client: TestClient) -> str:
    with session_scope() as s:
        _, key = create_key(s, "partner-app")
    return key


def post(client: TestClient, key: str, fmt: str = "json", **over: str) -> Any:
    data = {
        "api_key": key,
        "service_code": "06010",
        "lat": "30.403",
        "long": "114.843",
        "description": "东门菜市场门口暴露垃圾",
        "phone": "13800138000",
        "first_name": "San",
        "media_url": "https://example.org/photo.jpg",
        **over,
    }
    return client.post(f"{BASE}/requests.{fmt}", data=data)


def test_services_json_and_xml(client: TestClient) -> None:
    rows = client.get(f"{BASE}/services.json").json()
    garbage = next(r for r in rows if r["service_code"] == "06010")
    assert garbage["service_name"] == "暴露垃圾" and garbage["type"] == "realtime" and garbage["metadata"] is False
    assert len(rows) > 100
    xml = ET.fromstring(client.get(f"{BASE}/services.xml").content)
    assert xml.tag == "services" and xml.find("service/service_code") is not None
    d = client.get(f"{BASE}/services/06010.json").json()
    assert d == {"service_code": "06010", "attributes": []}
    assert ET.fromstring(client.get(f"{BASE}/services/06010.xml").content).tag == "service_definition"


def test_errors_use_spec_format(client: TestClient, api_key: str) -> None:
    r = client.get(f"{BASE}/services/99999.json")
    assert r.status_code == 404 and r.json()[0]["code"] == 404 and "description" in r.json()[0]
    r = client.get(f"{BASE}/requests/12319-20990101-000001.xml")
    err = ET.fromstring(r.content)
    assert r.status_code == 404 and err.tag == "errors" and err.findtext("error/code") == "404"
    assert post(client, "wrong-key").status_code == 403
    assert post(client, api_key, lat="", long="").status_code == 400
    assert post(client, api_key, service_code="nope").status_code == 404
    assert client.get(f"{BASE}/services.json", params={"jurisdiction_id": "elsewhere"}).status_code == 404
    assert client.get(f"{BASE}/requests.json", params={"status": "maybe"}).status_code == 400
    assert (
        client.get(
            f"{BASE}/requests.json", params={"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-06-01T00:00:00Z"}
        ).status_code
        == 400
    )


def test_create_read_filter_and_token(client: TestClient, api_key: str) -> None:
    r = post(client, api_key)
    assert r.status_code == 201, r.text
    created = r.json()[0]
    number, token = created["service_request_id"], created["token"]
    got = client.get(f"{BASE}/requests/{number}.json").json()[0]
    assert got["status"] == "open" and got["status_notes"] == "已派遣"
    assert got["service_code"] == "06010" and got["service_name"] == "暴露垃圾"
    assert got["expected_datetime"] and got["agency_responsible"]
    assert got["lat"] == pytest.approx(30.403) and got["media_url"] == "https://example.org/photo.jpg"
    assert "phone" not in got and "first_name" not in got  # contact data is never published
    assert client.get(f"{BASE}/tokens/{token}.json").json() == [{"service_request_id": number, "token": token}]
    xml = ET.fromstring(client.get(f"{BASE}/requests/{number}.xml").content)
    assert xml.findtext("request/service_request_id") == number and xml.findtext("request/status") == "open"

    # Filters: status, service_code, service_request_id overriding the rest.
    other = post(client, api_key, service_code="09009", lat="", long="", address_string="东门路")
    other_number = other.json()[0]["service_request_id"]
    with session_scope() as s:
        case = get_case_by_number(s, other_number)
        assert case is not None
        for a in (Action.HANDLE, Action.VERIFY, Action.CLOSE):
            apply_action(s, case, a, "test")
        s.commit()
    listed = lambda **p: [r["service_request_id"] for r in client.get(f"{BASE}/requests.json", params=p).json()]  # noqa: E731
    assert set(listed()) == {number, other_number}
    assert listed(status="closed") == [other_number]
    assert listed(status="open") == [number]
    assert listed(service_code="06010") == [number]
    assert listed(service_code="06010", service_request_id=other_number) == [other_number]
    assert listed(start_date="2030-01-01T00:00:00Z") == []
    closed = client.get(f"{BASE}/requests/{other_number}.json").json()[0]
    assert closed["status"] == "closed" and closed["status_notes"] == "已结案"


def test_revoked_key_is_refused_and_only_hash_stored(client: TestClient, api_key: str) -> None:
    with session_scope() as s:
        row = list_keys(s)[0]
        assert api_key not in (row.key_hash, row.prefix) and len(row.key_hash) == 64
        revoke_key(s, str(row.id))
    r = post(client, api_key)
    assert r.status_code == 403


def test_discovery(client: TestClient) -> None:
    d = client.get(f"{BASE}/discovery.json").json()
    assert d["endpoints"][0]["specification"] == "http://wiki.open311.org/GeoReport_v2"
    xml = ET.fromstring(client.get(f"{BASE}/discovery.xml").content)
    assert xml.findtext("endpoints/endpoint/formats/format") == "application/json"
