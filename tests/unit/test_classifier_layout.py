"""The classifier package's two halves: serving (what a web node or worker needs to classify a report)
never uses training (what makes a model), and the shared top level uses neither."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "classifiers"


def imported_modules(path: Path) -> set[str]:
    """Every module `path` imports, at module level or inside a function (absolute imports only)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            names |= {f"{node.module}.{a.name}" for a in node.names}
    return names


def test_serving_never_imports_training() -> None:
    bad = {
        f"{path.relative_to(REPO)}: {name}"
        for path in (PACKAGE / "serving").rglob("*.py")
        for name in imported_modules(path)
        if name.startswith("classifiers.training")
    }
    assert not bad, sorted(bad)


def test_shared_modules_import_neither_half() -> None:
    bad = {
        f"{path.relative_to(REPO)}: {name}"
        for path in PACKAGE.glob("*.py")
        for name in imported_modules(path)
        if name.startswith(("classifiers.serving", "classifiers.training"))
    }
    assert not bad, sorted(bad)


def test_importing_serving_loads_no_training_module_and_no_scikit_learn() -> None:
    """In a fresh interpreter: every serving module imported, then what came with them."""
    code = (
        "import importlib, pkgutil, sys, classifiers.serving as s\n"
        "for m in pkgutil.iter_modules(s.__path__, 'classifiers.serving.'): importlib.import_module(m.name)\n"
        "print(sorted(m for m in sys.modules if m.startswith('classifiers.training') "
        "or m.split('.')[0] in ('sklearn', 'skops')))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stdout
