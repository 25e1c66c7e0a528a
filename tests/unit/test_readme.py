"""The README documents every setting and starts with the two commands CI and newcomers use."""

from __future__ import annotations

from pathlib import Path

from cases.settings import Settings

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_in_the_configuration_table() -> None:
    missing = [f"HOTLINE_{name.upper()}" for name in Settings.model_fields if f"`HOTLINE_{name.upper()}`" not in README]
    assert not missing, f"add to README's configuration table: {missing}"


def test_readme_starts_with_run_and_test_commands() -> None:
    head = README[: README.index("## ")]
    assert "make run" in head and "make test" in head
    ci = (Path(__file__).resolve().parents[2] / ".ci" / "run").read_text(encoding="utf-8")
    assert "make test" in ci
