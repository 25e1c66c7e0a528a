"""`hotline demo` (what `make run` runs): migrate, seed the sample district, post sample reports, show the
cases they became, keep serving — and leave behind what the other commands need to talk to it.

The demo's state file (`HOTLINE_VAR_DIR/demo.json`, mode 0600) holds what a newcomer has not configured:
- a secret key for the web forms' CSRF tokens when HOTLINE_SECRET_KEY is unset, the same across restarts,
  so a form or login page left open in the browser still submits after `make run` is started again;
- a Twilio auth token when HOTLINE_TWILIO_AUTH_TOKEN is unset, so the demo's webhooks can check
  signatures and `hotline call simulate` (which reads the same file) signs with it, out of the box;
- the URL the demo serves on, which `hotline call simulate` calls by default.
Only the demo writes it and only the demo's server uses its secrets; `hotline serve` never reads it.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console, Group, RenderableType
from rich.table import Column, Table
from rich.text import Text

from cases.settings import kernel_settings

console = Console()

STATE_FILE = "demo.json"
# Under this many columns the cases are a list, one block each: seven columns of Chinese text in a
# 60-column terminal wrap into one character per line.
NARROW_COLUMNS = 80

DEMO_REPORTS: list[dict[str, Any]] = [
    {
        "channel": "api",
        "external_id": "demo-1",
        "text": "东门菜市场门口垃圾堆了好几天没人清理，臭得很",
        "phone": "13800138001",
    },
    {
        "channel": "api",
        "external_id": "demo-2",
        "text": "青砖湖路上一个污水井盖不见了，晚上很危险",
        "location": {"lat": 30.403, "lon": 114.855},
    },
    {
        "channel": "api",
        "external_id": "demo-3",
        "text": "胜利街菜场外面有人占道经营摆摊卖菜，车都过不去",
        "phone": "13800138003",
    },
    {
        "channel": "api",
        "external_id": "demo-4",
        "text": "考棚街工地半夜还在施工扰民，吵得睡不着",
        "phone": "13800138004",
    },
    {"channel": "api", "external_id": "demo-5", "text": "安国寺旁边的路灯不亮好几天了"},
]


# --- the state file ---------------------------------------------------------------------------------


def state_path(var_dir: Path | None = None) -> Path:
    return (var_dir or kernel_settings().var_dir) / STATE_FILE


def read_state(var_dir: Path | None = None) -> dict[str, str]:
    """The demo's state, or {} when no demo ran here (or the file is unreadable: the demo rewrites it)."""
    try:
        data = json.loads(state_path(var_dir).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return (
        {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, str)} if isinstance(data, dict) else {}
    )


def write_state(state: dict[str, str], var_dir: Path | None = None) -> Path:
    """Atomically, readable by its owner only (it holds secrets): created 0600, then renamed into place."""
    path = state_path(var_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        os.fchmod(f.fileno(), 0o600)  # also when the file was left by an earlier run with wider bits
        json.dump(state, f, indent=2)
    os.replace(tmp, path)
    return path


def demo_state(base_url: str, var_dir: Path | None = None) -> dict[str, str]:
    """The state of this run: the earlier run's secrets, or new ones the first time; this run's URL."""
    state = read_state(var_dir)
    state.setdefault("secret_key", secrets.token_hex(32))
    state.setdefault("twilio_auth_token", secrets.token_hex(16))
    state["base_url"] = base_url
    write_state(state, var_dir)
    return state


def install_demo_secrets(state: dict[str, str]) -> list[str]:
    """Use the state's secrets where the environment gives none; the names of the settings so filled."""
    from cases import providers
    from intake.telephony import settings as telephony
    from intake.web.csrf import PROCESS_SECRET
    from intake.web.settings import web_form_settings

    filled = []
    if not web_form_settings().secret_key:
        providers.install(PROCESS_SECRET, state["secret_key"])
        filled.append("HOTLINE_SECRET_KEY")
    current = telephony.telephony_settings()
    if not current.twilio_auth_token:
        providers.install(
            telephony.SETTINGS, current.model_copy(update={"twilio_auth_token": state["twilio_auth_token"]})
        )
        filled.append("HOTLINE_TWILIO_AUTH_TOKEN")
    return filled


# --- the cases they became --------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoRow:
    report_id: int
    text: str
    case_number: str | None
    status: str
    category: str = ""
    grid: str = ""
    department: str = ""


def cases_view(rows: list[DemoRow], width: int) -> RenderableType:
    """A table whose text column wraps (nothing cut off) or, under NARROW_COLUMNS, a list."""
    if width < NARROW_COLUMNS:
        blocks: list[RenderableType] = []
        for r in rows:
            head = Text.assemble((r.case_number or "(pending)", "bold"), f"  {r.status}  report {r.report_id}")
            blocks.append(head)
            blocks.append(Text(f"  {r.text}"))
            for label, value in (("category", r.category), ("grid", r.grid), ("dept.", r.department)):
                if value:
                    blocks.append(Text(f"  {label}: {value}"))
        return Group(*blocks)
    table = Table(
        Column("report", no_wrap=True),
        Column("text", ratio=3, overflow="fold"),
        Column("case", no_wrap=True),
        Column("status", no_wrap=True),
        Column("category", ratio=2, overflow="fold"),
        Column("grid", ratio=1, overflow="fold"),
        Column("department", ratio=1, overflow="fold"),
    )
    for r in rows:
        table.add_row(
            str(r.report_id), r.text, r.case_number or "-", r.status, r.category, r.grid or "-", r.department or "-"
        )
    return table


def _demo_key() -> str:
    """A fresh intake+read key for this demo run; the previous run's key is revoked (only hashes are
    stored, so an old key cannot be shown again)."""
    from cases.db import session_scope
    from intake.apikeys import create_key, list_keys, revoke_key

    with session_scope() as s:
        for old in list_keys(s):
            if old.name == DEMO_KEY_NAME and old.revoked_at is None:
                revoke_key(s, str(old.id))
        _, key = create_key(s, DEMO_KEY_NAME, ["intake", "read"])
    return key


DEMO_KEY_NAME = "hotline demo"

DEMO_ACCOUNTS = (  # username, role, display name, department
    ("demo.agent", "agent", "演示坐席", None),
    ("demo.supervisor", "supervisor", "演示班长", None),
    ("demo.sanitation", "department", "环卫处演示账号", "sanitation"),
    ("demo.grid", "grid_worker", "东门社区网格员演示账号", None),
    ("demo.admin", "admin", "演示管理员", None),
)
DEMO_COMMUNITY = "东门社区"  # demo.grid works the sample district's 东门社区 grids


def _demo_accounts() -> str:
    """The demo's console accounts, with one fresh password for this run (printed; only hashes stored)."""
    from sqlmodel import select

    from agent_ui.accounts.service import create_user, get_user, reset_password
    from cases.db import session_scope
    from cases.models import Grid

    password = secrets.token_urlsafe(9)
    with session_scope() as s:
        grids = sorted(s.exec(select(Grid.code).where(Grid.community == DEMO_COMMUNITY)))
        for username, role, name, department in DEMO_ACCOUNTS:
            user = get_user(s, username)
            if user is None:
                create_user(
                    s,
                    username=username,
                    role=role,
                    password=password,
                    display_name=name,
                    department_code=department,
                    grids=grids if role == "grid_worker" else (),
                )
            else:
                reset_password(s, user, password)
    return password


def _post_samples(base: str, key: str) -> list[DemoRow]:
    import httpx

    rows: list[DemoRow] = []
    with httpx.Client(base_url=base, timeout=30, headers={"Authorization": f"Bearer {key}"}) as client:
        report_ids = [
            client.post("/api/v1/reports", json=r).raise_for_status().json()["report_id"] for r in DEMO_REPORTS
        ]
        for rid, sample in zip(report_ids, DEMO_REPORTS, strict=True):
            case = None
            for _ in range(300):
                rep = client.get(f"/api/v1/reports/{rid}").json()
                if rep["case_number"]:
                    case = client.get(f"/api/v1/cases/{rep['case_number']}").json()
                    break
                time.sleep(0.1)
            if case is None:
                rows.append(DemoRow(rid, sample["text"], None, "pending"))
                continue
            rows.append(
                DemoRow(
                    rid,
                    sample["text"],
                    case["number"],
                    case["status_label"],
                    f"{case['category']['code']} {case['category']['name'] or ''}".strip(),
                    case["grid"]["name"] or "",
                    case["department"]["name"] or "",
                )
            )
    return rows


def _say(label: str, text: str, *, has_link: bool = True) -> None:
    # A line with a URL or path longer than the terminal is wrapped by the terminal (soft_wrap), not broken
    # by Rich with a newline in the middle, which would not survive copy and paste; prose wraps at words.
    console.print(f"{label:<11} {text}", soft_wrap=has_link, highlight=False)


def _start_server(host: str, port: int) -> tuple[Any, threading.Thread]:
    import uvicorn

    from hotline.app import create_app

    server = uvicorn.Server(uvicorn.Config(create_app(), host=host, port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            console.print(
                f"[red]the server did not start on {host}:{port}[/] (is the port taken? "
                f"`make run PORT={port + 1}` or `hotline demo --port {port + 1}`)",
                soft_wrap=True,
            )
            raise typer.Exit(1)
        time.sleep(0.05)
    return server, thread


def demo(
    host: Annotated[str | None, typer.Option(help="Bind address (default HOTLINE_HOST, 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default HOTLINE_PORT, 8000).")] = None,
    exit_after: Annotated[bool, typer.Option("--exit", help="Stop after the sample reports (tests).")] = False,
) -> None:
    """Migrate, seed the sample district, post sample reports, show the cases, keep serving."""
    from hotline.settings import server_settings

    settings, server_conf = kernel_settings(), server_settings()
    host, port = host or server_conf.host, port or server_conf.port
    base = f"http://{host}:{port}"
    state = demo_state(base)
    filled = install_demo_secrets(state)
    console.print(
        f"[bold]12319 demo[/] starting on {base}: migrating {settings.database_url}, seeding the sample "
        "district, loading the category model …",
        soft_wrap=True,
    )
    server, thread = _start_server(host, port)
    console.print(f"[bold]12319 demo[/] serving on [bold]{base}[/]", soft_wrap=True)
    key = _demo_key()
    console.print(cases_view(_post_samples(base, key), console.width))
    _say("Start here:", f"{base}/   (residents, staff and the API each have a door)")
    _say("API docs:", f"{base}/docs   ({base}/redoc; both work offline)")
    _say("H5 form:", f"{base}/h5/   (residents' mobile form; track a case at {base}/h5/track)")
    _say("Open311:", f"{base}/open311/v2/services.json")
    _say("A case:", f"curl -H 'Authorization: Bearer {key}' {base}/api/v1/cases/<number>")
    _say("Health:", f"{base}/healthz  {base}/readyz")
    _say("Dashboard:", f"{base}/supervisor/   (a supervisor's 概览: today's figures are live)")
    _say("A call:", "hotline call simulate   (an IVR call in this terminal, signed like Twilio's)", has_link=False)
    password = _demo_accounts()
    users = ", ".join(u for u, *_ in DEMO_ACCOUNTS)
    _say("Console:", f"{base}/login   users {users}; password for this run: {password}")
    if filled:
        _say("Kept in:", f"{state_path()} (0600): {', '.join(filled)} for this demo, the same next time")
    if exit_after:
        server.should_exit = True
        thread.join(10)
        return
    console.print("Press Ctrl-C to stop.")
    try:
        thread.join()
    except KeyboardInterrupt:
        server.should_exit = True
