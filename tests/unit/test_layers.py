"""Imports point one way: cases ← classifiers/ivr_flows ← intake/routing ← agent_ui ← hotline.
Nothing imports hotline; Twilio is imported only inside the telephony adapter."""

from __future__ import annotations

import ast
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


def imported_top_levels(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_imports_only_what_it_may(package: str) -> None:
    bad = []
    for path in (REPO / package).rglob("*.py"):
        for name in imported_top_levels(path) & OURS - {package}:
            if name not in ALLOWED[package]:
                bad.append(f"{path.relative_to(REPO)} imports {name}")
    assert not bad, "\n".join(bad)


def test_twilio_only_in_the_telephony_adapter() -> None:
    bad = []
    for package in OURS - {"hotline"}:
        for path in (REPO / package).rglob("*.py"):
            if "twilio" in imported_top_levels(path) and "telephony" not in path.parts:
                bad.append(str(path.relative_to(REPO)))
    assert not bad, bad
