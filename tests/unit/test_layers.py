"""Imports point one way: cases ← classifiers/ivr_flows ← intake/routing ← agent_ui ← hotline.
Nothing imports hotline; Twilio is imported only inside the telephony adapter. A dotted string that
something will import ("routing.pipeline.process_report", "hotline.app:create_app") counts as an import:
a package may name only what it may import."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
OURS = {"cases", "classifiers", "ivr_flows", "intake", "routing", "agent_ui", "hotline"}
ALLOWED = {
    "cases": set(),
    "classifiers": {"cases"},
    "ivr_flows": {"cases"},
    "intake": {"cases", "classifiers", "ivr_flows"},
    "routing": {"cases", "classifiers", "ivr_flows"},
    "agent_ui": {"cases", "classifiers", "ivr_flows", "intake", "routing"},
    "hotline": OURS - {"hotline"},
}
# The whole string is a dotted path into one of our packages, optionally with a ":attr" (uvicorn's form).
DOTTED_PATH = re.compile(rf"^({'|'.join(sorted(OURS))})(\.[A-Za-z_]\w*)+(:[A-Za-z_]\w*)?$")


def imported_top_levels(source: str) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def named_in_strings(source: str) -> set[str]:
    """Our packages that a string literal names by dotted path (docstrings and prose never match whole)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            m = DOTTED_PATH.match(node.value)
            if m:
                names.add(m.group(1))
    return names


def violations(package: str, source: str) -> list[str]:
    """What a module of `package` imports or names by dotted string that `package` may not reach."""
    found = []
    for name in sorted(imported_top_levels(source) & OURS - {package} - ALLOWED[package]):
        found.append(f"imports {name}")
    for name in sorted(named_in_strings(source) & OURS - {package} - ALLOWED[package]):
        found.append(f"names {name} in a string")
    return found


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_imports_only_what_it_may(package: str) -> None:
    bad = []
    for path in (REPO / package).rglob("*.py"):
        bad += [f"{path.relative_to(REPO)} {v}" for v in violations(package, path.read_text(encoding="utf-8"))]
    assert not bad, "\n".join(bad)


def test_the_checker_sees_dotted_strings_and_imports() -> None:
    planted = '''
"""Runs `routing.pipeline.process_report` for a report (prose in a docstring is not a reference)."""
from cases.jobs import run_now
JOB = "routing.pipeline.process_report"
APP = "hotline.app:create_app"
LOGGER = "cases.jobs"
VERSION = "1.2.3"
'''
    assert violations("intake", planted) == ["names hotline in a string", "names routing in a string"]
    assert violations("hotline", planted) == []
    assert violations("cases", "import routing.pipeline\n") == ["imports routing"]
    assert violations("cases", 'PATH = "cases.models.Report"\n') == []  # its own


def test_twilio_only_in_the_telephony_adapter() -> None:
    bad = []
    for package in OURS - {"hotline"}:
        for path in (REPO / package).rglob("*.py"):
            if "twilio" in imported_top_levels(path.read_text(encoding="utf-8")) and "telephony" not in path.parts:
                bad.append(str(path.relative_to(REPO)))
    assert not bad, bad
