"""Every route of the app, under every role: a people's route must declare its roles (agent_ui.auth.Allow)
and answer each role as declared; every other route must be one of the machine doors, each with its own
check (API keys, Twilio or camera signatures, CSRF on the resident form). A new route that declares no
roles, or a new door nobody listed here, fails this test."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from starlette.routing import Route

from agent_ui.accounts.roles import Role
from agent_ui.accounts.sessions import session_store
from agent_ui.auth import SESSION_COOKIE, Allow
from agent_ui.errors import is_people_path
from cases.db import session_scope
from cases.lifecycle import Action
from cases.models import Report
from cases.service import apply_action, open_case
from hotline.settings import reset_settings
from routing.models import DepartmentContact, DepartmentNotice, ExtensionRequest
from tests import telephony_fixtures as tf
from tests.console_helpers import DEPARTMENT, GRID, make_user
from tests.telephony_fixtures import ACCOUNT, TOKEN
from tests.twilio_standin import TwilioStandIn

# Machine doors and public pages, by path prefix, with what guards them.
DOORS = {
    "/api/v1/": "API key with scopes (intake.api.require), camera HMAC signature (intake.camera)",
    "/open311/": "Open311: API key for POST, public GETs as the GeoReport standard has them",
    "/twilio/": "Twilio request signature (intake.telephony.security)",
    "/h5": "the resident's form and track page: signed CSRF, rate limits, track tokens",
    "/attachments/": "unguessable attachment ids",
    "/healthz": "ops probe",
    "/readyz": "ops probe",
    "/metrics": "ops metrics",
    "/docs": "API documentation",
    "/redoc": "API documentation",
    "/openapi.json": "API documentation",
    "/static/console/": "the console's vendored static files",
}
PUBLIC_PEOPLE = {("GET", "/"), ("GET", "/login"), ("POST", "/login")}
# Routes whose success ends the session, so they answer with the sign-in page like a refusal would.
SIGN_OUT = {("POST", "/logout")}

standin = tf.standin  # fixture


def _allows(dependant: Dependant) -> Iterator[Allow]:
    for dep in dependant.dependencies:
        if isinstance(dep.call, Allow):
            yield dep.call
        yield from _allows(dep)


def _routes(app: Any) -> Iterator[tuple[str, str, Any]]:
    """(method, full path, route) of every route, through included routers (FastAPI keeps those lazily)."""
    for route in iter_route_contexts(app.routes):
        if isinstance(route.original_route, Route) and route.path:
            for method in sorted(route.methods or ()):
                if method != "HEAD":
                    yield method, route.path, route


def test_every_route_is_a_known_door_or_declares_roles(client: TestClient) -> None:
    undeclared, unknown = [], []
    for method, path, route in _routes(client.app):
        if (method, path) in PUBLIC_PEOPLE:
            continue
        if is_people_path(path):
            if not isinstance(route.original_route, APIRoute) or not list(_allows(route.dependant)):
                undeclared.append(f"{method} {path}")
        elif not any(path == p.rstrip("/") or path.startswith(p) for p in DOORS):
            unknown.append(f"{method} {path}")
    assert not undeclared, f"people's routes that declare no roles (use agent_ui.auth.Allow): {undeclared}"
    assert not unknown, f"routes that are neither a listed door nor a people's page: {unknown}"


@dataclass
class World:
    case_number: str
    users: dict[Role, int]
    report_id: int
    typed_key: str = "0" * 32  # the form key of an agent's typed report of the case (/console/new/{key})
    case_id: int = 0
    contact_id: int = 0
    notice_id: int = 0
    extension_id: int = 0  # a 延期 request of the case (/supervisor/extensions/{request_id})


RECORDING = f"/2010-04-01/Accounts/{ACCOUNT}/Recordings/RE{'0' * 32}"


@pytest.fixture
def world(client: TestClient, standin: TwilioStandIn, monkeypatch: pytest.MonkeyPatch) -> World:
    # The case's voicemail recording is served by the Twilio stand-in (the console fetches it from Twilio).
    monkeypatch.setenv("HOTLINE_TWILIO_ACCOUNT_SID", ACCOUNT)
    monkeypatch.setenv("HOTLINE_TWILIO_AUTH_TOKEN", TOKEN)
    monkeypatch.setenv("HOTLINE_TWILIO_API_BASE_URL", standin.url)
    monkeypatch.setenv("HOTLINE_TWILIO_RATE_PER_SECOND", "0")
    reset_settings()
    standin.media[RECORDING + ".mp3"] = (b"ID3", "audio/mpeg")
    users = {}
    for role in Role:
        users[role] = make_user(f"u_{role.value}", role.value).id
    make_user("u_target", "agent")  # the account admin routes act on (never one signed in here)
    with session_scope() as s:
        case = open_case(s, actor="system:test", title="东门菜市场门口垃圾满溢", category_code="06010", grid_code=GRID)
        apply_action(s, case, Action.REGISTER, "system:test")
        number, case_id = case.number, case.id
        case.department_code = DEPARTMENT
        s.add(Report(channel="agent", external_id="console-" + "0" * 32, text=case.title, case_id=case.id))
        # The grid worker's report from patrol with the same form key (/grid/reports/{key}).
        grid_hints = {"confirmed_by": "grid:u_grid_worker", "category_code": "06010", "grid_code": GRID}
        s.add(
            Report(channel="grid", external_id="grid-" + "0" * 32, text=case.title, case_id=case.id, hints=grid_hints)
        )
        url = "https://api.twilio.com" + RECORDING
        report = Report(
            channel="voice",
            external_id="CA1:voicemail",
            phone="+8613800138000",
            case_id=case.id,
            raw={"recording_url": url},
            attachments=[url],
        )
        s.add(report)
        # A department contact and a failed notice, for the admin's /admin/departments and /admin/notices.
        contact = DepartmentContact(department_code=DEPARTMENT, name="值班员小王", phone="+8613900139001", role="duty")
        s.add(contact)
        s.flush()
        notice = DepartmentNotice(
            key="test:sms:1", department_code=DEPARTMENT, case_id=case.id, channel="sms", target=str(contact.id),
            event="dispatch", payload={"text": "test"}, state="failed", attempts=4,
        )  # fmt: skip
        s.add(notice)
        s.flush()
        request = ExtensionRequest(case_id=case.id, requested_by="dept:u_department", reason="等材料", working_days=1)
        s.add(request)
        s.flush()
        assert report.id is not None and contact.id is not None and notice.id is not None and request.id is not None
    return World(
        number,
        users,
        report.id,
        case_id=case_id or 0,
        contact_id=contact.id,
        notice_id=notice.id,
        extension_id=request.id,
    )


# A value for each path parameter a people's route may have: real objects of the world above.
def _samples(world: World) -> dict[str, str]:
    return {
        "number": world.case_number,
        "username": "u_target",
        "key": world.typed_key,  # also the form key of a grid worker's report (/grid/reports/{key})
        "item": f"case:{world.case_id}",  # a queue item (routing.work_queue.item_key)
        "report_id": str(world.report_id),
        "code": DEPARTMENT,  # a department (/admin/departments/{code})
        "contact_id": str(world.contact_id),
        "notice_id": str(world.notice_id),
        "day": "2026-10-10",  # a day of the working calendar (/supervisor/calendar/{day})
        "request_id": str(world.extension_id),
        "table": "departments",  # a dashboard list (/supervisor/export/{table}.{fmt})
        "fmt": "xlsx",
        "rule_key": "garbage-exposed",  # a rule of the shipped set (/supervisor/rules/draft/rule/{rule_key})
        "version": "1",  # a published rule-set version (/supervisor/rules/versions/{version}/rollback)
    }


_PARAM = re.compile(r"{([^}:]+)(?::[^}]+)?}")


def _url(path: str, world: World) -> str:
    samples = _samples(world)

    def fill(m: re.Match[str]) -> str:
        name = m.group(1)
        assert name in samples, f"add a sample value for path parameter {name!r} of {path} to _samples"
        return samples[name]

    return _PARAM.sub(fill, path)


def _signed_in(client: TestClient, user_id: int) -> str:
    """A fresh session for the user (made directly: signing in is tested elsewhere); returns its CSRF."""
    with session_scope() as s:
        token, record = session_store().create(s, user_id, "testclient")
    client.cookies.set(SESSION_COOKIE, token)
    return record.csrf_token


def _people_routes(client: TestClient) -> list[tuple[str, str, frozenset[Role]]]:
    found = []
    for method, path, route in _routes(client.app):
        if isinstance(route.original_route, APIRoute) and is_people_path(path) and (method, path) not in PUBLIC_PEOPLE:
            roles = frozenset().union(*(a.roles for a in _allows(route.dependant)))
            found.append((method, path, roles))
    return found


def test_each_role_gets_what_the_route_declares(client: TestClient, world: World) -> None:
    wrong = []
    routes = _people_routes(client)
    assert len(routes) >= 4
    for method, path, roles in routes:
        url = _url(path, world)
        client.cookies.clear()
        anonymous = client.request(method, url, follow_redirects=False)
        if anonymous.status_code != 303 or not anonymous.headers["location"].startswith("/login"):
            wrong.append(f"anonymous {method} {path}: {anonymous.status_code}, not a redirect to /login")
        for role in Role:
            csrf = _signed_in(client, world.users[role])
            r = client.request(method, url, headers={"X-CSRF-Token": csrf}, follow_redirects=False)
            location = r.headers.get("location", "")
            if role in roles:
                refused = r.status_code in (401, 403) or (
                    location.startswith("/login") and (method, path) not in SIGN_OUT
                )
                if refused or r.status_code >= 500 or (method == "GET" and r.status_code not in (200, 303)):
                    wrong.append(f"{role} {method} {path}: {r.status_code} {location} (allowed role refused)")
            elif r.status_code != 403:
                wrong.append(f"{role} {method} {path}: {r.status_code}, expected 403")
    assert not wrong, "\n".join(wrong)


def test_an_unsafe_request_without_the_csrf_token_is_refused(client: TestClient, world: World) -> None:
    for method, path, roles in _people_routes(client):
        if method == "GET":
            continue
        role = sorted(roles)[0]
        _signed_in(client, world.users[Role(role)])
        r = client.request(method, _url(path, world), follow_redirects=False)
        assert r.status_code == 403, f"{method} {path} accepted a request without the CSRF token"
        assert "安全令牌" in r.text


JUNK = ["", "0", "-1", "99999999999999999999", "x" * 5000, "<script>alert(1)</script>", "１２３", "😀", "null"]


def _form_fields(route: Any) -> list[str]:
    return [p.alias for p in route.dependant.body_params] + [
        p.alias for dep in route.dependant.dependencies for p in dep.body_params
    ]


def test_people_doors_answer_hostile_input_with_4xx_never_5xx(client: TestClient, world: World) -> None:
    """Every unsafe people's route, as a role it allows, with junk in every form field: a Chinese 4xx page
    or a normal answer, never a 500."""
    crashed, tried = [], set()
    for method, path, roles in _people_routes(client):
        if method == "GET" or (method, path) in SIGN_OUT:
            continue
        tried.add(path)
        route = next(r for m, p, r in _routes(client.app) if m == method and p == path)
        fields = _form_fields(route) or ["anything"]
        role = sorted(roles)[0]
        for junk in JUNK:
            csrf = _signed_in(client, world.users[Role(role)])
            r = client.request(
                method,
                _url(path, world),
                data={name: junk for name in fields},
                headers={"X-CSRF-Token": csrf},
                follow_redirects=False,
            )
            if r.status_code >= 500:
                crashed.append(f"{role} {method} {path} with {junk[:20]!r}: {r.status_code}")
    assert len(tried) >= 15, tried  # the console's forms are all in it
    assert not crashed, "\n".join(crashed)
