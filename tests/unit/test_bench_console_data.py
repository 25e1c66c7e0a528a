"""The console benchmark's generator, its pure parts: every generated case walks a legal path of the
lifecycle table, the status mixes are well-formed, and a category gets the department routing gives it."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from cases.lifecycle import Action, CaseStatus, next_status
from cases.states import EventKind
from routing.rules import DEFAULT_RULES, load_rule_file, parse_rule_set

ROOT = Path(__file__).resolve().parents[2]


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("console_data", ROOT / "bench" / "console_data.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look themselves up there
    spec.loader.exec_module(module)
    return module


data = _load()


@pytest.mark.parametrize("name", list(data.PATHS))
def test_each_path_is_legal_in_the_lifecycle_table(name: str) -> None:
    steps = data.PATHS[name]
    assert 4 <= len(steps) <= 8
    assert steps[0][0] == EventKind.OPEN and steps[0][2] == CaseStatus.REPORTED
    status = CaseStatus.REPORTED
    for action, frm, to, _who in steps[1:]:
        if action in Action.__members__.values():
            assert frm == status, f"{name}: {action} from {frm}, but the case is {status}"
            status = next_status(status, action)
            assert to == status
        else:
            assert EventKind(action) and frm is None and to is None  # an event that moves no case
    assert data.final_status(name) == status


def test_held_cases_stay_registered_and_closed_ones_close() -> None:
    assert data.final_status("held") == CaseStatus.REGISTERED
    assert data.PATHS["held"][-1][0] == EventKind.HOLD_FOR_AGENT
    assert data.final_status("closed") == data.final_status("closed_surveyed") == CaseStatus.CLOSED


@pytest.mark.parametrize("mix", [data.RECENT_MIX, data.OLD_MIX, data.CHANNELS])
def test_mixes_are_cumulative_and_complete(mix: list[tuple[str, float]]) -> None:
    shares = [share for _name, share in mix]
    assert shares == sorted(shares) and len(set(shares)) == len(shares) and shares[-1] == 1.0
    names = [name for name, _share in mix]
    assert all(n in data.PATHS for n in names) or mix is data.CHANNELS


def test_sql_pick_names_each_arm_once_and_defaults_to_the_last() -> None:
    sql = data.sql_pick([("a", 0.2), ("b", 0.5), ("c", 1.0)], "u")
    assert sql == "(CASE WHEN u < 0.2 THEN 'a' WHEN u < 0.5 THEN 'b' ELSE 'c' END)"


def _cat(op: str, code: str) -> dict[str, object]:
    return {"field": "category", "op": op, "value": [code]}


def test_department_for_follows_the_routing_rules_first_match() -> None:
    rules = load_rule_file(DEFAULT_RULES)
    assert data.department_for("06010", rules) == "sanitation"  # 暴露垃圾, by exact code
    assert data.department_for("01002", rules) == "municipal"  # 污水井盖: manhole-missing rule
    assert data.department_for("zz999", rules) is None  # the catch-all: an agent decides
    mine = parse_rule_set(
        {
            "rules": [
                {
                    "key": "a",
                    "name": "a",
                    "when": {"field": "category", "op": "prefix", "value": ["03"]},
                    "then": {"department": "first"},
                },
                {
                    "key": "b",
                    "name": "b",
                    "when": {"field": "category", "op": "in", "value": ["03001"]},
                    "then": {"department": "second"},
                },
                {"key": "z", "name": "z", "then": {"hold": True}},
            ]
        }
    )
    assert data.department_for("03001", mine) == "first"
