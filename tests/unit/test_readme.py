"""The README documents every setting and starts with the two commands CI and newcomers use."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

from cases.settings import HotlineSettings
from hotline.settings import settings_classes

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
PACKAGES = ("cases", "classifiers", "ivr_flows", "intake", "routing", "agent_ui", "hotline")


def _settings_classes_in_code() -> set[type[HotlineSettings]]:
    """Every settings class defined in any `settings.py` of our packages (found, not listed)."""
    found: set[type[HotlineSettings]] = set()
    for package in PACKAGES:
        for mod in pkgutil.walk_packages([str(ROOT / package)], prefix=f"{package}."):
            if mod.name.rpartition(".")[2] != "settings":
                continue
            module = importlib.import_module(mod.name)
            found |= {
                v
                for v in vars(module).values()
                if isinstance(v, type) and issubclass(v, HotlineSettings) and v.__module__ == mod.name
            }
    return found - {HotlineSettings}


def test_the_composition_root_lists_every_settings_class() -> None:
    missing = _settings_classes_in_code() - set(settings_classes())
    assert not missing, f"add to hotline.settings.PACKAGE_SETTINGS: {sorted(c.__qualname__ for c in missing)}"


def test_every_setting_is_in_the_configuration_table() -> None:
    names = [name for cls in settings_classes() for name in cls.model_fields]
    missing = [f"HOTLINE_{name.upper()}" for name in names if f"`HOTLINE_{name.upper()}`" not in README]
    assert not missing, f"add to README's configuration table: {missing}"


def test_no_two_packages_read_the_same_variable() -> None:
    names = [name for cls in settings_classes() for name in cls.model_fields]
    assert len(names) == len(set(names)), sorted({n for n in names if names.count(n) > 1})


def test_readme_starts_with_run_and_test_commands() -> None:
    head = README[: README.index("## ")]
    assert "make run" in head and "make test" in head
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "make test" in ci
