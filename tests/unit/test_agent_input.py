"""What agents and operators type is checked against the reference data: an unknown category, grid or
department, a doubled actor prefix, malformed JSON or a rules file naming a department that does not exist
is refused with one clear line (exit 2), and nothing is changed."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from cases.db import session_scope
from cases.models import Case, CaseEvent, Category, Department, Report
from cases.reference import InvalidInput, actor_id
from cases.service import apply_action, get_case_by_number, open_case
from classifiers.models import LabelledExample
from hotline.cli import app as cli
from routing.rules import DEFAULT_RULES, RulesError

runner = CliRunner()
GRID = "421102001001001"


def held_case(text: str = "门口那堆东西好几天了没人管", grid: str | None = None) -> str:
    with session_scope() as s:
        case = open_case(s, actor="system:pipeline", title=text, grid_code=grid)
        apply_action(s, case, "register", "system:pipeline")
        case.needs_review = True
        s.add(Report(channel="api", external_id=f"held-{text}", text=text, case_id=case.id, processing_status="done"))
        s.commit()
        return case.number


def confirm(number: str, *args: str) -> object:
    return runner.invoke(cli, ["cases", "confirm", number, *args])


def unchanged(number: str) -> None:
    with session_scope() as s:
        case = get_case_by_number(s, number)
        assert case is not None and case.status == "registered" and case.department_code is None
        assert s.exec(select(LabelledExample)).all() == []


def one_line_error(result: object, *words: str) -> None:
    out = result.output  # type: ignore[attr-defined]
    assert result.exit_code == 2, out  # type: ignore[attr-defined]
    lines = [line for line in out.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), out
    assert "Traceback" not in out and all(w in lines[0] for w in words), out


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--category", "77777", "--department", "sanitation", "--grid", GRID], ["unknown category", "77777"]),
        (["--category", "06010", "--grid", "999999999999999"], ["unknown grid", "999999999999999"]),
        (["--category", "06010", "--grid", GRID, "--department", "sanitaton"], ["unknown department", "sanitaton"]),
        (["--category", "06010", "--grid", GRID, "--grade", "soon"], ["grade", "soon"]),
        (["--category", "06010"], ["no grid"]),  # dispatch without a grid only when asked for
        (["--category", "06010", "--grid", GRID, "--agent", "boss:li"], ["actor kind", "boss"]),
        (["--category", "06010", "--grid", GRID, "--agent", "agent:agent:li"], ["invalid actor"]),
    ],
)
def test_confirm_refuses_unknown_input(env: Path, args: list[str], words: list[str]) -> None:
    number = held_case()
    agent = [] if "--agent" in args else ["--agent", "li"]
    one_line_error(confirm(number, *agent, *args), *words)
    unchanged(number)


def test_disabled_category_is_refused(env: Path) -> None:
    with session_scope() as s:
        cat = s.get(Category, ("事件", "06010"))
        assert cat is not None
        cat.active = False
        s.add(cat)
        s.commit()
    number = held_case()
    one_line_error(confirm(number, "--agent", "li", "--category", "06010", "--grid", GRID), "disabled", "06010")
    unchanged(number)


def test_inactive_department_is_refused(env: Path) -> None:
    with session_scope() as s:
        dept = s.get(Department, "market")
        assert dept is not None
        dept.active = False
        s.add(dept)
        s.commit()
    number = held_case()
    result = confirm(number, "--agent", "li", "--category", "06010", "--grid", GRID, "--department", "market")
    one_line_error(result, "inactive", "market")


@pytest.mark.parametrize("agent", ["li", "agent:li", " agent:li "])
def test_actor_prefix_is_normalised_once(env: Path, agent: str) -> None:
    number = held_case()
    out = confirm(number, "--agent", agent, "--category", "06010", "--grid", GRID)
    assert out.exit_code == 0, out.output
    with session_scope() as s:
        actors = {e.actor for e in s.exec(select(CaseEvent).where(CaseEvent.action.in_(["correct", "dispatch"])))}  # type: ignore[attr-defined]
        assert actors == {"agent:li"}
        assert s.exec(select(LabelledExample)).one().who == "agent:li"


def test_dispatch_without_a_grid_when_explicitly_allowed(env: Path) -> None:
    number = held_case()
    out = confirm(number, "--agent", "li", "--category", "99000", "--department", "transfer_12345", "--no-grid")
    assert out.exit_code == 0, out.output
    with session_scope() as s:
        case = get_case_by_number(s, number)
        assert case is not None and case.status == "dispatched" and case.grid_code is None


def test_a_held_case_keeps_its_grid(env: Path) -> None:
    number = held_case(grid=GRID)
    out = confirm(number, "--agent", "li", "--category", "06010")
    assert out.exit_code == 0, out.output


@pytest.mark.parametrize(("data", "words"), [("notjson", ["--data", "not valid JSON"]), ("[1, 2]", ["JSON object"])])
def test_act_data_must_be_a_json_object(env: Path, data: str, words: list[str]) -> None:
    number = held_case()
    one_line_error(runner.invoke(cli, ["cases", "act", number, "note", "--actor", "li", "--data", data]), *words)
    with session_scope() as s:
        assert s.exec(select(CaseEvent).where(CaseEvent.action == "note")).all() == []


def test_act_refuses_unknown_action_actor_and_department(env: Path) -> None:
    number = held_case(grid=GRID)
    one_line_error(runner.invoke(cli, ["cases", "act", number, "frobnicate", "--actor", "li"]), "unknown action")
    one_line_error(runner.invoke(cli, ["cases", "act", number, "note", "--actor", "x:y"]), "actor kind")
    with session_scope() as s:  # a registered case that the pipeline did not hold: act dispatch routes it
        case = get_case_by_number(s, number)
        assert case is not None
        case.needs_review, case.category_code = False, "06010"
        s.add(case)
        s.commit()
    bad = runner.invoke(cli, ["cases", "act", number, "dispatch", "--actor", "li", "--department", "sanitaton"])
    one_line_error(bad, "unknown department", "sanitaton")
    ok = runner.invoke(cli, ["cases", "act", number, "note", "--actor", "agent:li", "--data", '{"k": 1}'])
    assert ok.exit_code == 0, ok.output
    with session_scope() as s:
        assert s.exec(select(CaseEvent).where(CaseEvent.action == "note")).one().actor == "agent:li"


def test_a_held_case_is_not_dispatched_past_the_confirmation(env: Path) -> None:
    number = held_case(grid=GRID)
    out = runner.invoke(cli, ["cases", "act", number, "dispatch", "--actor", "li"])
    one_line_error(out, "confirm")


def test_kernel_refuses_unknown_codes_whoever_calls(env: Path) -> None:
    with session_scope() as s:
        case = open_case(s, actor="system:pipeline", title="x")
        apply_action(s, case, "register", "system:pipeline")
        with pytest.raises(InvalidInput, match="unknown department 'nowhere'"):
            apply_action(s, case, "note", "agent:li", department_code="nowhere")
        with pytest.raises(InvalidInput, match="unknown category"):
            apply_action(s, case, "note", "agent:li", category_code="77777")
        assert case.department_code is None and case.category_code is None


def test_actor_id() -> None:
    from cases.reference import ACTOR_KINDS

    assert actor_id("li") == actor_id("agent:li") == actor_id("agent:li", kinds=ACTOR_KINDS) == "agent:li"
    assert actor_id("dept:sanitation", kinds=ACTOR_KINDS) == "dept:sanitation"
    assert actor_id("王五", default_kind="grid") == "grid:王五"
    for bad in ("", "agent:", "agent:agent:li", "boss:li", "li li", "x" * 51):
        with pytest.raises(InvalidInput):
            actor_id(bad, kinds=ACTOR_KINDS)
    assert actor_id("key:open311:city") == "key:open311:city"  # what a channel names itself is kept
    for bad in ("", "Agent:li", "li li", "a" * 13 + ":x", "x" * 51):
        with pytest.raises(InvalidInput):
            actor_id(bad)


# --- the routing rules file ----------------------------------------------------------------------------


def _rules(tmp_path: Path, old: str, new: str) -> Path:
    text = DEFAULT_RULES.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "rules.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("old", "new", "words"),
    [
        ("department: sanitation\n", "department: sanitaton\n", ["第 1 条规则（garbage-exposed）", "sanitaton 不存在"]),
        ("value: ['06010', '06042']", "value: ['06010', '77777']", ["类别 77777 不是启用的事项类别"]),
        ("value: ['03']", "value: ['88']", ["类别前缀 88 没有对应的类别", "（sanitation）"]),
        ("value: ['06010', '06042']", "value: [06010, '06042']", ["须加引号", "3080"]),
    ],
)
def test_a_rules_file_naming_unknown_codes_is_refused_naming_the_rule(
    env: Path, tmp_path: Path, old: str, new: str, words: list[str]
) -> None:
    from routing.rule_sets import import_rule_file, newest_version

    path = _rules(tmp_path, old, new)
    with session_scope() as s:
        before = newest_version(s)
        with pytest.raises(RulesError) as exc:
            import_rule_file(s, path, editor="supervisor:li", note="导入")
    message = str(exc.value)
    assert all(w in message for w in words), message
    with session_scope() as s:
        assert newest_version(s) == before  # nothing published
        import_rule_file(
            s, DEFAULT_RULES, editor="supervisor:li", note="导入"
        )  # the shipped file names only what exists


def test_no_case_goes_to_an_unknown_department(env: Path, tmp_path: Path) -> None:
    """A set naming `sanitaton` is refused where it is published; the agent's dispatch names none either."""
    from routing.rule_sets import import_rule_file

    bad = _rules(tmp_path, "department: sanitation\n", "department: sanitaton\n")
    with session_scope() as s, pytest.raises(RulesError, match="sanitaton"):
        import_rule_file(s, bad, editor="supervisor:li", note="导入")
    number = held_case()
    result = confirm(number, "--agent", "li", "--category", "06010", "--grid", GRID, "--department", "sanitaton")
    one_line_error(result, "sanitaton")
    with session_scope() as s:
        assert s.exec(select(Case).where(Case.department_code == "sanitaton")).all() == []


def test_pipeline_holds_a_case_without_a_grid_even_with_a_chosen_category(env: Path) -> None:
    """A channel that supplies the category (a form's picker) skips the confidence gate, not the grid."""
    from routing.pipeline import process_report

    with session_scope() as s:
        report = Report(
            channel="web", external_id="no-grid", text="有一堆垃圾没人清理", hints={"category_code": "06010"}
        )
        s.add(report)
        s.commit()
        rid = report.id
    assert rid is not None
    number = process_report(rid)
    with session_scope() as s:
        case = get_case_by_number(s, number)
        assert case is not None and case.grid_code is None
        assert case.status == "registered" and case.needs_review
        held = s.exec(select(CaseEvent).where(CaseEvent.action == "hold_for_agent")).one()
        assert held.reason is not None and "no grid" in held.reason


def test_the_app_says_at_start_up_that_the_seed_rules_are_refused(
    env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A first start with a bad seed file (HOTLINE_ROUTING_RULES_PATH) keeps intake up and says why."""
    import logging

    from fastapi.testclient import TestClient
    from sqlalchemy import delete

    from cases import hooks
    from hotline.app import create_app
    from hotline.bootstrap import prepare_database
    from hotline.settings import reset_settings
    from routing.models import RuleRow, RuleSet

    with session_scope() as s:  # an empty rule-set table: the database of a first start
        s.exec(delete(RuleRow))  # type: ignore[call-overload]
        s.exec(delete(RuleSet))  # type: ignore[call-overload]
    bad = _rules(tmp_path, "department: sanitation\n", "department: sanitaton\n")
    monkeypatch.setenv("HOTLINE_ROUTING_RULES_PATH", str(bad))
    reset_settings()
    with caplog.at_level(logging.ERROR):
        prepare_database()
        with TestClient(create_app()) as c:
            assert c.get("/healthz").status_code == 200  # intake stays up: reports are stored, not routed
            assert hooks.listeners("dispatched")  # the factory wired the loop
    assert "routing rules refused" in caplog.text and "sanitaton" in caplog.text
