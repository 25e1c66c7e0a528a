"""SLA policies as data: which policy a case gets (pure), versions that never move a running clock, the
shipped file, and `hotline sla policies` / `hotline sla import`."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from cases.db import session_scope
from hotline.cli import app as cli
from routing.sla import TimeLimit, WorkingCalendar, limit_seconds
from routing.sla_policies import (
    BUILTIN_DEFAULT,
    DEFAULT_POLICIES,
    Policy,
    PolicyBook,
    PolicyError,
    active_rows,
    history,
    import_policies,
    load_policies,
    next_grade,
    parse_policies,
    policy_for,
    read_policies_file,
    save_policy,
)

WH, WD, H = "working_hours", "working_days", "hours"
CAL = WorkingCalendar(tz=__import__("zoneinfo").ZoneInfo("Asia/Shanghai"))
runner = CliRunner()


def row(code: str, handle: float, *, exact: str | None = None, prefix: str | None = None, grade: str | None = None):  # type: ignore[no-untyped-def]
    return Policy(
        code=code,
        version=1,
        category_code=exact,
        category_prefix=prefix,
        grade=grade,
        sign=TimeLimit(1, WH),
        handle=TimeLimit(handle, WH),
        verify=TimeLimit(1, WD),
    )


BOOK = PolicyBook(
    (
        row("default", 14),
        row("street", 10, prefix="06"),
        row("street-0601", 9, prefix="0601"),
        row("garbage", 4, exact="06010"),
        row("garbage-critical", 3, exact="06010", grade="critical"),
        row("manhole", 2, exact="01002", grade="urgent"),
    ),
    row("default", 14),
)


def test_exact_code_beats_the_longest_prefix_beats_the_default() -> None:
    assert policy_for(BOOK, "06010", "normal").code == "garbage"
    assert policy_for(BOOK, "06011", "normal").code == "street-0601"  # "0601" is longer than "06"
    assert policy_for(BOOK, "06020", "normal").code == "street"
    assert policy_for(BOOK, "09001", "normal").code == "default"
    assert policy_for(BOOK, None, None).code == "default"


def test_a_row_for_the_grade_beats_the_row_without_one() -> None:
    critical = policy_for(BOOK, "06010", "critical")
    assert (critical.code, critical.handle, critical.scale) == ("garbage-critical", TimeLimit(3, WH), 1.0)


def test_a_grade_without_a_row_scales_the_row_without_a_grade() -> None:
    """紧急 halves and 特急 quarters the 签收 and 办结 limits; 核实 stays."""
    urgent = policy_for(BOOK, "06020", "urgent")
    assert (urgent.code, urgent.grade, urgent.scale) == ("street", "urgent", 0.5)
    assert (urgent.sign, urgent.handle, urgent.verify) == (TimeLimit(0.5, WH), TimeLimit(5, WH), TimeLimit(1, WD))
    critical = policy_for(BOOK, "06020", "critical")
    assert (critical.sign, critical.handle) == (TimeLimit(0.25, WH), TimeLimit(2.5, WH))
    assert policy_for(BOOK, "06020", "unknown-grade").handle == TimeLimit(10, WH)  # read as normal


def test_rows_for_other_grades_only_scale_up_from_below_and_never_lengthen_from_above() -> None:
    # manhole has an urgent row only: critical is half of it; normal keeps it (never longer than urgent's).
    assert policy_for(BOOK, "01002", "urgent").handle == TimeLimit(2, WH)
    assert policy_for(BOOK, "01002", "critical").handle == TimeLimit(1, WH)
    assert policy_for(BOOK, "01002", "normal").handle == TimeLimit(2, WH)


def test_an_empty_book_gives_the_builtin_default() -> None:
    got = policy_for(PolicyBook(), "06010", "normal")
    assert (got.code, got.version, got.sign, got.handle) == ("default", 0, BUILTIN_DEFAULT.sign, TimeLimit(2, WD))


def test_next_grade() -> None:
    assert [next_grade(g) for g in ("normal", "urgent", "critical", None)] == [
        "urgent",
        "critical",
        "critical",
        "urgent",
    ]


def _taxonomy_matters() -> list[str]:
    path = Path(__file__).resolve().parents[2] / "cases" / "data" / "taxonomy.csv"
    with path.open(encoding="utf-8") as f:
        return [r["full_code"] for r in csv.DictReader(f) if r["kind"] == "事件"]


def _book_of_file(path: Path) -> PolicyBook:
    specs = parse_policies(yaml.safe_load(path.read_text(encoding="utf-8")))
    policies = tuple(
        Policy(
            code=code,
            version=1,
            category_code=v["category_code"],
            category_prefix=v["category_prefix"],
            grade=v["grade"],
            sign=TimeLimit(v["sign_amount"], v["sign_unit"]),
            handle=TimeLimit(v["handle_amount"], v["handle_unit"]),
            verify=TimeLimit(v["verify_amount"], v["verify_unit"]),
            require_photo=v["require_photo"],
        )
        for code, v in specs.items()
    )
    return PolicyBook(policies, next(p for p in policies if p.code == "default"))


def test_the_shipped_policies_give_every_matter_a_shorter_limit_at_the_next_grade() -> None:
    book = _book_of_file(DEFAULT_POLICIES)
    for code in [*_taxonomy_matters(), "99000"]:
        seconds = [limit_seconds(policy_for(book, code, g).handle, CAL) for g in ("normal", "urgent", "critical")]
        signs = [limit_seconds(policy_for(book, code, g).sign, CAL) for g in ("normal", "urgent", "critical")]
        assert seconds[0] >= seconds[1] > seconds[2], (code, seconds)
        assert signs[0] >= signs[1] > signs[2], (code, signs)


def test_the_shipped_policies_keep_the_figures_of_the_old_rules_and_the_local_standards() -> None:
    book = _book_of_file(DEFAULT_POLICIES)
    expected = {
        # the interim routing table's limits
        ("06010", "normal"): TimeLimit(4, WH),
        ("01002", "urgent"): TimeLimit(2, WH),
        ("06001", "normal"): TimeLimit(15, WD),
        ("08003", "normal"): TimeLimit(1, WD),
        ("06020", "normal"): TimeLimit(2, WD),
        # cases/data/time_limits.csv
        ("06011", "normal"): TimeLimit(4, WD),
        ("06012", "normal"): TimeLimit(5, WH),
        ("06025", "normal"): TimeLimit(15, WD),
    }
    for (code, grade), limit in expected.items():
        assert policy_for(book, code, grade).handle == limit, code
    assert policy_for(book, "06020", "normal").sign == TimeLimit(1, WH)
    assert policy_for(book, "06010", "normal").require_photo and not policy_for(book, "06020", "normal").require_photo


@pytest.mark.parametrize(
    ("doc", "words"),
    [
        ({"policies": []}, "a `default` policy"),
        ({"default": {"sign": {"amount": 1, "unit": WH}}}, "default needs sign, handle and verify"),
        ({"default": {"sign": {"amount": 1}}}, "sign needs amount and unit"),
        (
            {
                "default": {
                    "sign": {"amount": 1, "unit": WH},
                    "handle": {"amount": 1, "unit": WH},
                    "verify": {"amount": 1, "unit": WH},
                },
                "policies": [{"id": "x", "categories": [6010]}],
            },
            "quoted strings",
        ),
        (
            {
                "default": {
                    "sign": {"amount": 1, "unit": WH},
                    "handle": {"amount": 1, "unit": WH},
                    "verify": {"amount": 1, "unit": WH},
                },
                "policies": [{"id": "x"}],
            },
            "name categories or prefixes",
        ),
    ],
)
def test_bad_policy_files_are_refused_with_the_reason(doc: dict, words: str) -> None:
    with pytest.raises(PolicyError, match=words):
        parse_policies(doc)


# --- the table ---------------------------------------------------------------------------------------


def test_the_shipped_policies_are_seeded(env: Path) -> None:
    with session_scope() as s:
        rows = active_rows(s)
        codes = {r.code for r in rows}
        assert "default" in codes and "garbage-exposed:06010" in codes and "construction" in codes
        assert all(r.version == 1 and r.editor == "system:seed" for r in rows)
        assert policy_for(load_policies(s), "06010", "normal").code == "garbage-exposed:06010"


def test_an_edit_adds_a_version_and_keeps_the_old_one(env: Path) -> None:
    with session_scope() as s:
        saved = save_policy(s, "construction", editor="supervisor:zhang", note="市里新规定", handle_amount=3)
        assert (saved.version, saved.handle_amount, saved.handle_unit, saved.active) == (2, 3, WD, True)
        versions = history(s, "construction")
        assert [(r.version, r.active) for r in versions] == [(2, True), (1, False)]
        assert policy_for(load_policies(s), "08003", "normal").handle == TimeLimit(3, WD)
        retired = save_policy(s, "construction", editor="supervisor:zhang", note="并入默认", active=False)
        assert (retired.version, retired.active) == (3, False)
        assert policy_for(load_policies(s), "08003", "normal").code == "default"


@pytest.mark.parametrize(
    ("code", "fields", "words"),
    [
        ("construction", {"handle_unit": "weeks"}, "handle unit must be one of"),
        ("construction", {"handle_amount": 0}, "handle amount must be a number above 0"),
        ("construction", {"grade": "extreme"}, "grade must be one of"),
        ("new-one", {"category_code": "77777"}, "unknown category '77777'"),
        ("new-one", {"category_prefix": "88"}, "prefix '88' matches no category"),
        ("new-one", {}, "name a category code or prefix"),
        ("new-one", {"category_code": "08003", "category_prefix": "08"}, "not both"),
        ("new-one", {"category_prefix": "08"}, "policy construction already covers"),
        ("default", {"active": False}, "cannot be retired"),
        ("default", {"category_code": "06010"}, "names no category"),
        ("construction", {"colour": "red"}, "unknown fields colour"),
    ],
)
def test_an_edit_that_cannot_be_used_is_refused(env: Path, code: str, fields: dict, words: str) -> None:
    with session_scope() as s, pytest.raises(PolicyError, match=words):
        save_policy(s, code, editor="supervisor:zhang", note="试一下", **fields)


def test_an_edit_needs_a_note(env: Path) -> None:
    with session_scope() as s, pytest.raises(PolicyError, match="needs a note"):
        save_policy(s, "construction", editor="supervisor:zhang", note="  ", handle_amount=3)


def _city_file(tmp_path: Path) -> Path:
    doc = yaml.safe_load(DEFAULT_POLICIES.read_text(encoding="utf-8"))
    doc["policies"] = [p for p in doc["policies"] if p["id"] != "water-dirty"]
    for p in doc["policies"]:
        if p["id"] == "construction":
            p["handle"] = {"amount": 8, "unit": H}
    doc["policies"].append({"id": "bus-stop", "categories": ["02001"], "handle": {"amount": 1, "unit": WD}})
    path = tmp_path / "city.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return path


def test_an_import_versions_what_changed_and_retires_what_is_gone(env: Path, tmp_path: Path) -> None:
    path = _city_file(tmp_path)
    with session_scope() as s:
        result = import_policies(s, read_policies_file(path), editor="admin:li", note="2027年标准")
    assert (result.added, result.changed, result.retired) == (["bus-stop"], ["construction"], ["water-dirty"])
    with session_scope() as s:
        book = load_policies(s)
        assert policy_for(book, "08003", "normal").handle == TimeLimit(8, H)
        assert policy_for(book, "06025", "normal").code == "default"
        again = import_policies(s, read_policies_file(path), editor="admin:li", note="再导一次")
        assert (again.added, again.changed, again.retired) == ([], [], [])


def test_cli_lists_and_imports_policies(env: Path, tmp_path: Path) -> None:
    out = runner.invoke(cli, ["sla", "policies"])
    assert out.exit_code == 0, out.output
    assert "garbage-exposed:06010" in out.output and "working_hours" in out.output
    path = _city_file(tmp_path)
    out = runner.invoke(cli, ["sla", "import", str(path), "--note", "2027年标准"])
    assert out.exit_code == 0, out.output
    assert "1 added, 1 changed, 1 retired" in out.output
    out = runner.invoke(cli, ["sla", "policies", "--history", "construction"])
    assert out.exit_code == 0 and "2027年标准" in out.output and "(retired)" in out.output
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "default: {sign: {amount: 1, unit: weeks}, handle: {amount: 1, unit: hours}, "
        "verify: {amount: 1, unit: hours}}\n",
        encoding="utf-8",
    )
    out = runner.invoke(cli, ["sla", "import", str(bad), "--note", "错的"])
    assert out.exit_code == 2 and "sign unit must be one of" in out.output
