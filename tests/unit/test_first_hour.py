"""A newcomer's first hour (issue 17 item 7): the docs pages offline, `/` as a front door, answers' URLs
from the address really called, the demo's table at any width, its state file, CLI times in the city's
zone, Twilio's client quiet at INFO, and the Makefile's port setting."""

from __future__ import annotations

import io
import logging
import os
import re
import stat
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from rich.cells import cell_len
from rich.console import Console
from twilio.request_validator import RequestValidator

from hotline.settings import reset_settings

REPO = Path(__file__).resolve().parents[2]
GARBAGE = {"channel": "api", "external_id": "fh-1", "text": "东门菜市场门口暴露垃圾没人清理", "phone": "138 0013 8000"}
PUBLIC = "https://12319.example.gov.cn"
GRID, DEPARTMENT = "东门社区第1网格", "区环境卫生管理处"


# --- /docs, /redoc and / ------------------------------------------------------------------------------


def _assets(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="([^"]+)"', html)


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_load_only_vendored_assets_under_a_strict_script_policy(client: TestClient, page: str) -> None:
    r = client.get(page)
    assert r.status_code == 200
    csp = r.headers["content-security-policy"]
    assert "script-src 'self';" in csp and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    assert "<script>" not in r.text  # every script is a file: the policy forbids inline ones
    assets = _assets(r.text)
    assert assets and all(a.startswith("/api-docs/static/") for a in assets), assets  # no CDN
    for a in assets:
        got = client.get(a)
        assert got.status_code == 200, a
        assert len(got.content) > 400, a
    spec = re.search(r'(?:data-openapi-url|spec-url)="([^"]+)"', r.text)
    assert spec and client.get(spec.group(1)).json()["info"]["title"].startswith("12319")


def test_swagger_bundle_is_the_vendored_release_named_in_the_readme(client: TestClient) -> None:
    vendored = (REPO / "hotline" / "static" / "VENDORED.md").read_text(encoding="utf-8")
    for name in ("swagger-ui-bundle-5.35.0.js", "swagger-ui-5.35.0.css", "redoc-2.5.4.standalone.js"):
        assert name in vendored
        assert (REPO / "hotline" / "static" / "vendor" / name).stat().st_size > 100_000
    assert "SwaggerUIBundle" in client.get("/api-docs/static/vendor/swagger-ui-bundle-5.35.0.js").text[:200_000]


def test_front_door_shows_the_three_doors_and_each_answers(client: TestClient) -> None:
    r = client.get("/", follow_redirects=False)
    assert r.status_code == 200
    assert "script-src" not in r.headers["content-security-policy"]  # default-src 'self': no script at all
    doors = [a for a in _assets(r.text) if not a.startswith("/api-docs/static/")]
    assert doors == ["/h5/", "/login", "/docs"]
    for door in doors:
        assert client.get(door).status_code == 200, door


def test_front_door_sends_a_signed_in_person_to_their_workbench(client: TestClient) -> None:
    from agent_ui.accounts.roles import Role
    from agent_ui.accounts.sessions import session_store
    from agent_ui.auth import HOME, SESSION_COOKIE
    from cases.db import session_scope
    from tests.console_helpers import make_user

    user = make_user("fh.supervisor", "supervisor")
    with session_scope() as s:
        token, _ = session_store().create(s, user.id, "testclient")
    client.cookies.set(SESSION_COOKIE, token)
    r = client.get("/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == HOME[Role.SUPERVISOR]


# --- URLs in answers --------------------------------------------------------------------------------


def _urls_in_answers(client: TestClient, headers: dict[str, str]) -> list[str]:
    accepted = client.post("/api/v1/reports", json=GARBAGE, headers=headers).json()
    report = client.get(accepted["status_url"], headers=headers).json()
    discovery = client.get("/open311/v2/discovery.json").json()
    return [accepted["status_url"], report["case_url"], discovery["endpoints"][0]["url"]]


def test_answers_use_the_address_really_called_when_no_public_url_is_set(
    client: TestClient, api_headers: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HOTLINE_PUBLIC_BASE_URL", raising=False)
    reset_settings()
    urls = _urls_in_answers(client, api_headers)
    assert all(u.startswith("http://testserver/") for u in urls), urls
    assert client.get(urls[1], headers=api_headers).status_code == 200  # the case link works as given


def test_answers_use_the_public_url_when_it_is_set(
    client: TestClient, api_headers: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOTLINE_PUBLIC_BASE_URL", PUBLIC + "/")
    reset_settings()
    urls = _urls_in_answers(client, api_headers)
    assert all(u.startswith(PUBLIC + "/") and "//" not in u[len("https://") :] for u in urls), urls


def _twilio_post(client: TestClient, signed_for: str) -> int:
    params = {"CallSid": "CA" + "f" * 32, "From": "+8613800138000", "To": "+8671312319", "CallStatus": "ringing"}
    signature = RequestValidator("fh-token").compute_signature(signed_for + "/twilio/voice", params)
    return client.post("/twilio/voice", data=params, headers={"X-Twilio-Signature": signature}).status_code


def test_twilio_signatures_are_checked_for_the_public_url_when_set_else_the_address_called(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from intake.telephony import voice

    monkeypatch.setattr(voice, "WARM_UP", False)
    monkeypatch.setenv("HOTLINE_TWILIO_AUTH_TOKEN", "fh-token")
    monkeypatch.delenv("HOTLINE_PUBLIC_BASE_URL", raising=False)
    reset_settings()
    assert _twilio_post(client, "http://testserver") == 200
    assert _twilio_post(client, PUBLIC) == 403
    monkeypatch.setenv("HOTLINE_PUBLIC_BASE_URL", PUBLIC)  # behind a proxy: Twilio signed the public URL
    reset_settings()
    assert _twilio_post(client, PUBLIC) == 200
    assert _twilio_post(client, "http://testserver") == 403


# --- the demo -----------------------------------------------------------------------------------------


def _rows():  # type: ignore[no-untyped-def]
    from hotline.cli_demo import DEMO_REPORTS, DemoRow

    return [
        DemoRow(
            i + 1,
            r["text"],
            f"12319-20261205-00000{i + 1}",
            "已派遣",
            "06010 暴露垃圾",
            "东门社区第1网格",
            "区环境卫生管理处",
        )
        for i, r in enumerate(DEMO_REPORTS)
    ] + [DemoRow(6, "安国寺旁边的路灯不亮好几天了", None, "pending")]


def _render(width: int) -> list[str]:
    from hotline.cli_demo import cases_view

    out = io.StringIO()
    console = Console(file=out, width=width, force_terminal=False, color_system=None)
    console.print(cases_view(_rows(), console.width))
    return out.getvalue().splitlines()


@pytest.mark.parametrize("width", [60, 200])
def test_demo_cases_fit_the_terminal_and_nothing_is_cut_off(width: int) -> None:
    lines = _render(width)
    assert all(cell_len(line) <= width for line in lines), [line for line in lines if cell_len(line) > width]
    text = "\n".join(lines)
    for row in _rows():
        assert row.case_number is None or row.case_number in text  # a case number is never broken
        # The whole sample text is there, possibly wrapped within its column: read it back cell by cell.
        assert all(ch in text for ch in row.text)
    if width >= 80:
        assert "┃" in text or "│" in text  # a table
        assert all(r.text in text for r in _rows())  # 200 columns: each text on one line
    else:
        assert "│" not in text and "┃" not in text  # a list, one block per case
        assert all(r.text in text for r in _rows())
        assert DEPARTMENT in text


def test_demo_state_is_kept_0600_and_its_secrets_survive_a_restart(tmp_path: Path) -> None:
    from hotline.cli_demo import demo_state, read_state, state_path

    first = demo_state("http://127.0.0.1:8000", tmp_path)
    path = state_path(tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = demo_state("http://127.0.0.1:8123", tmp_path)
    assert again["secret_key"] == first["secret_key"] and again["twilio_auth_token"] == first["twilio_auth_token"]
    assert read_state(tmp_path)["base_url"] == "http://127.0.0.1:8123"
    path.chmod(0o644)  # an earlier run's file with wider bits is narrowed again
    demo_state("http://127.0.0.1:8123", tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    path.write_text("not json")
    assert read_state(tmp_path) == {}


def test_demo_fills_only_what_the_environment_leaves_unset(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cases import providers
    from hotline.cli_demo import demo_state, install_demo_secrets
    from intake.telephony.settings import telephony_settings
    from intake.web.csrf import sign_value

    state = demo_state("http://127.0.0.1:8000", env / "var")
    monkeypatch.delenv("HOTLINE_SECRET_KEY", raising=False)
    monkeypatch.delenv("HOTLINE_TWILIO_AUTH_TOKEN", raising=False)
    reset_settings()
    assert install_demo_secrets(state) == ["HOTLINE_SECRET_KEY", "HOTLINE_TWILIO_AUTH_TOKEN"]
    signed = sign_value("form|x")
    assert telephony_settings().twilio_auth_token == state["twilio_auth_token"]
    providers.reset()  # a restart: a new process, the same file
    reset_settings()
    install_demo_secrets(demo_state("http://127.0.0.1:8000", env / "var"))
    assert sign_value("form|x") == signed  # a form rendered before the restart still submits

    monkeypatch.setenv("HOTLINE_SECRET_KEY", "from-the-environment")
    monkeypatch.setenv("HOTLINE_TWILIO_AUTH_TOKEN", "also-set")
    providers.reset()
    reset_settings()
    assert install_demo_secrets(state) == []
    assert telephony_settings().twilio_auth_token == "also-set"
    assert sign_value("form|x") != signed


# --- CLI times, Twilio's logger, the Makefile ---------------------------------------------------------


def test_cli_shows_times_in_the_city_zone(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from cases.db import session_scope
    from hotline import cli_apikeys
    from hotline.cli import app
    from intake.apikeys import create_key, list_keys

    with session_scope() as s:
        create_key(s, "时区测试", ["read"])
    with session_scope() as s:
        created = next(k.created_at for k in list_keys(s) if k.name == "时区测试")
    monkeypatch.setattr(cli_apikeys.console, "width", 200)
    out = CliRunner().invoke(app, ["apikeys", "list"]).output
    shanghai = created.astimezone(__import__("zoneinfo").ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M")
    assert shanghai in out
    assert created.astimezone(UTC).isoformat(timespec="seconds") not in out
    assert created.astimezone(UTC).hour != datetime.fromisoformat(shanghai).hour  # the test tells them apart


def test_twilio_client_request_lines_stay_below_info() -> None:
    import intake.telephony.rest  # noqa: F401  (where the client is built)

    assert not logging.getLogger("twilio.http_client").isEnabledFor(logging.INFO)


@pytest.mark.parametrize(("args", "expected"), [(["PORT=8123"], "hotline demo --port 8123"), ([], "hotline demo")])
def test_make_run_honours_a_port_setting(args: list[str], expected: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PORT"}
    out = subprocess.run(
        ["make", "-n", "-C", str(REPO), "run", *args], capture_output=True, text=True, check=True, env=env
    ).stdout
    demo = [line for line in out.splitlines() if "hotline demo" in line]
    assert demo and demo[-1].rstrip().endswith(expected), out
