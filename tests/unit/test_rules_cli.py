"""`hotline rules export|import|versions|show|rollback` through Typer's runner on the test database:
export then import gives back the same rules, as a new version with its note and editor."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from cases.db import session_scope
from hotline.cli import app as cli
from routing.rule_sets import published, spec_of
from routing.rules import load_rule_file

runner = CliRunner()


def _newest() -> tuple[int, str, str, tuple[object, ...], tuple[str, float]]:
    with session_scope() as s:
        rs = published(s)
        assert rs is not None and rs.version is not None
        spec = spec_of(s, rs)
        return (
            rs.version,
            rs.note,
            rs.published_by or "",
            spec.rules,
            (spec.default_grade, spec.min_decision_confidence),
        )


def test_export_then_import_round_trips(env: Path) -> None:
    version, _, _, rules, settings = _newest()
    out = env / "rules.yaml"
    done = runner.invoke(cli, ["rules", "export", str(out)])
    assert done.exit_code == 0, done.output
    assert f"v{version}: {len(rules)} rules written" in done.output
    assert load_rule_file(out).rules == rules
    done = runner.invoke(cli, ["rules", "import", str(out), "--note", "导出再导入", "--editor", "admin:li"])
    assert done.exit_code == 0, done.output
    new_version, note, editor, new_rules, new_settings = _newest()
    assert (new_version, note, editor) == (version + 1, "导出再导入", "admin:li")
    assert new_rules == rules and new_settings == settings
    # An older version by number, too.
    older = env / "v1.yaml"
    assert runner.invoke(cli, ["rules", "export", str(older), "--version", str(version)]).exit_code == 0
    assert load_rule_file(older).rules == rules


def test_a_bad_file_is_refused_and_nothing_is_stored(env: Path) -> None:
    version = _newest()[0]
    bad = env / "bad.yaml"
    rule = "- key: a\n  name: 甲\n  when: {field: category, op: in, value: ['06010']}\n  then: {department: nobody}\n"
    bad.write_text("rules:\n" + rule, encoding="utf-8")
    done = runner.invoke(cli, ["rules", "import", str(bad), "--note", "x"])
    assert done.exit_code == 2 and "error:" in done.output
    assert runner.invoke(cli, ["rules", "import", str(env / "none.yaml"), "--note", "x"]).exit_code == 2
    assert _newest()[0] == version


def test_versions_show_and_rollback(env: Path) -> None:
    version = _newest()[0]
    done = runner.invoke(cli, ["rules", "versions"])
    assert done.exit_code == 0 and f"v{version}" in done.output and "种子：rules.yaml" in done.output
    shown = runner.invoke(cli, ["rules", "show", str(version)])
    assert shown.exit_code == 0, shown.output
    assert "1. garbage-exposed 『暴露垃圾』 [生效] 类别属于 06010、06042 → 派给 sanitation，直接派遣" in shown.output
    done = runner.invoke(cli, ["rules", "rollback", str(version), "--note", "回到种子"])
    assert done.exit_code == 0 and f"v{version + 1}: a copy of v{version}" in done.output
    assert _newest()[1] == "回到种子"
    assert runner.invoke(cli, ["rules", "rollback", "999", "--note", "x"]).exit_code == 2
    assert runner.invoke(cli, ["rules", "show", "999"]).exit_code == 2
