"""Every CLI command, run as a new user would on a database file nobody has migrated yet, either migrates it
or ends with one line saying what to run — never a traceback. The commands are read from the Typer app, so
a command added later is tried too (or has to say here why not)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import typer

from hotline.cli import NOT_MIGRATED, app

REPO = Path(__file__).resolve().parents[2]

# Commands that never open the database.
NO_DATABASE = {
    "call simulate": "drives a running server over HTTP",
    "classifier train": "CSV in, model files out",
    "classifier eval": "a model file and a CSV",
    "db backup": "copies the database file as it is, migrated or not (tests/unit/test_backup.py)",
    "db restore": "replaces the database with a backup, migrated or not (tests/unit/test_backup.py)",
}
# Commands that migrate before anything else, then serve until stopped (serve's start is tested elsewhere).
SERVE = {"serve", "demo"}
MIGRATES = {"db upgrade"}

# Arguments for the commands that need some; {tmp} is the test's directory.
ARGS: dict[str, list[str]] = {
    "apikeys create": ["区数字城管平台"],
    "apikeys revoke": ["1"],
    "calendar import": [str(REPO / "routing" / "data" / "calendar" / "2026.yaml")],
    "calendar show": ["2026"],
    "cameras add": ["cam-dongmen-01", "--name", "东门菜市场东口"],
    "cameras rotate-secret": ["cam-dongmen-01"],
    "cases confirm": ["12319-20261130-000001", "--agent", "li"],
    "cases act": ["12319-20261130-000001", "accept", "--actor", "dept:cgj"],
    "classifier predict": ["{tmp}/in.csv", "{tmp}/out.csv"],
    "classifier activate": ["20261130-0930"],
    "grids import": ["{tmp}/grids.geojson"],
    "notices retry": ["1"],
    "rules export": ["{tmp}/rules.yaml"],
    "rules import": [str(REPO / "routing" / "data" / "rules.yaml"), "--note", "试运行"],
    "rules rollback": ["1", "--note", "回滚"],
    "rules show": ["1"],
    "report monthly": ["--month", "2026-11", "--out", "{tmp}/monthly.xlsx"],
    "sla deadline": ["--from", "2026-09-30T16:00", "--working-hours", "4"],
    "sla import": [str(REPO / "routing" / "data" / "sla_policies.yaml"), "--note", "试运行"],
    "worker": ["--burst"],
    "users create": ["li", "--role", "agent", "--password-stdin"],
    "users disable": ["li"],
    "users enable": ["li"],
    "users reset-password": ["li", "--password-stdin"],
}
# What commands that read stdin are given there.
STDIN = {"users create": "correct-horse-12319\n", "users reset-password": "correct-horse-12319\n"}
GRID_LAYER = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "properties": {"grid_code": "421102001001001", "grid_name": "东门社区第1网格", "community": "东门社区"},
            "geometry": {"type": "Polygon", "coordinates": [[[114.85, 30.40], [114.86, 30.40], [114.86, 30.41]]]},
        }
    ],
}
# Commands that work without the database by design: the classifier falls back to the shipped model and data.
WITHOUT_DATABASE = {"classifier predict"}
# The worker checks only that a Redis URL is set before it loads what it serves from the database.
ENV = {"worker": {"HOTLINE_REDIS_URL": "redis://127.0.0.1:9/0"}}


def _commands(group: Any, prefix: str = "") -> dict[str, Any]:
    found: dict[str, Any] = {}
    for name, command in group.commands.items():
        path = f"{prefix}{name}"
        if hasattr(command, "commands"):  # a group (typer's own click: not a click.Group)
            found |= _commands(command, path + " ")
        else:
            found[path] = command
    return found


COMMANDS = _commands(typer.main.get_command(app))
TRIED = sorted(set(COMMANDS) - set(NO_DATABASE) - SERVE)


@dataclass
class Outcome:
    returncode: int
    output: str


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome]:
    """Every command at once, each in a fresh interpreter on a database file of its own."""
    started = {}
    for command in TRIED:
        tmp = tmp_path_factory.mktemp(command.replace(" ", "-"))
        (tmp / "in.csv").write_text("text\n东门菜市场门口垃圾堆了好几天\n", encoding="utf-8")
        (tmp / "grids.geojson").write_text(json.dumps(GRID_LAYER, ensure_ascii=False), encoding="utf-8")
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")},
            "PYTHONPATH": str(REPO),
            "HOTLINE_DATABASE_URL": f"sqlite:///{tmp / 'new.db'}",
            "HOTLINE_VAR_DIR": str(tmp / "var"),
            **ENV.get(command, {}),
        }
        argv = command.split() + [a.format(tmp=tmp) for a in ARGS.get(command, [])]
        started[command] = subprocess.Popen(
            [sys.executable, "-m", "hotline.cli", *argv],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
    outcomes = {}
    for command, proc in started.items():
        try:
            out, _ = proc.communicate(input=STDIN.get(command, ""), timeout=240)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
        outcomes[command] = Outcome(proc.returncode, out.strip())
    return outcomes


def test_every_command_is_tried_or_says_why_not() -> None:
    assert set(NO_DATABASE) | SERVE <= set(COMMANDS)
    assert set(ARGS) <= set(COMMANDS)
    needs_args = {p for p in TRIED if any(param.required for param in COMMANDS[p].params)}
    assert needs_args <= set(ARGS), f"give these commands arguments in ARGS: {sorted(needs_args - set(ARGS))}"


@pytest.mark.parametrize("command", TRIED)
def test_a_command_on_a_database_not_migrated_yet(command: str, outcomes: dict[str, Outcome]) -> None:
    done = outcomes[command]
    assert "Traceback" not in done.output, done.output
    assert len(done.output.splitlines()) <= 2, done.output
    if command in MIGRATES | WITHOUT_DATABASE:
        assert done.returncode == 0, done.output
    else:
        assert (done.returncode, done.output) == (1, NOT_MIGRATED)
