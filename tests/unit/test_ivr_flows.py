"""Call flows are data: the shipped ones load, broken ones are refused with file:line."""

from __future__ import annotations

from pathlib import Path

import pytest

from ivr_flows.engine import RETRY, Engine, Turn
from ivr_flows.loader import FlowError, load_flow, load_flows
from ivr_flows.speech import case_number_from_keys, digits_zh
from ivr_flows.verbs import Gather, Hangup, Redirect, Say

HANDLERS = {
    "agent_hours",
    "classify",
    "submit_report",
    "case_ready",
    "lookup_case",
    "save_voicemail",
    "survey_score",
    "survey_comment",
    "survey_after_comment",
    "survey_link_sms",
}

GOOD = """\
flow: t
start: menu
prompts:
  ask: 请按1
  bye: 再见
steps:
  menu:
    type: gather
    input: dtmf
    say: ask
    choices: {"1": done}
    on_fail: done
  done:
    type: hangup
    say: bye
"""


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "t.yaml"
    p.write_text(text, encoding="utf-8")
    return p


def test_shipped_flows_load_with_the_adapters_handlers() -> None:
    flows = load_flows(handlers=HANDLERS)
    assert set(flows) == {"main", "survey"}
    assert flows["main"].steps["menu"].spec["choices"] == {"1": "report", "2": "progress", "3": "agent", "0": "menu"}


@pytest.mark.parametrize(
    ("old", "new", "line", "message"),
    [
        ('choices: {"1": done}', 'choices: {"1": nowhere}', 11, "unknown step 'nowhere'"),
        ("    say: bye", "    say: farewell", 15, "unknown prompt 'farewell'"),
        ("  bye: 再见", "  bye: ''", 5, "prompt 'bye' has no text"),
        ("    input: dtmf", "    input: dtmf\n    colour: red", 10, "unknown key 'colour'"),
        ("    on_fail: done\n", "", 7, "needs on_fail"),
        ("start: menu", "start: nope", 2, "start goes to unknown step"),
        ('choices: {"1": done}', 'choices: {"x": done}', 11, "not a keypad key"),
        ("    type: hangup", "    type: teleport", 13, "unknown type 'teleport'"),
        ("  ask: 请按1", "  ask: [unclosed", 5, "not valid YAML"),
        ("    input: dtmf", "    input: keypad", 9, "input must be dtmf or speech"),
        ("    say: bye\n", "", 13, "a hangup step must say something first"),
        ("    say: ask", "    say: ask\n    handler: h", 7, "a gather with a handler needs outcomes"),
        ("    type: hangup", "    type: say", 13, "step 'done': missing 'next'"),
    ],
)
def test_broken_flows_name_file_and_line(tmp_path: Path, old: str, new: str, line: int, message: str) -> None:
    assert old in GOOD
    path = _write(tmp_path, GOOD.replace(old, new))
    with pytest.raises(FlowError) as exc:
        load_flow(path)
    assert str(exc.value).startswith(f"{path}:{line}:"), str(exc.value)
    assert message in str(exc.value)


def test_unknown_handler_is_refused(tmp_path: Path) -> None:
    text = GOOD.replace('    choices: {"1": done}\n', "    handler: mystery\n    outcomes: {ok: done}\n")
    with pytest.raises(FlowError, match="handlers not provided by the runtime: mystery"):
        load_flow(_write(tmp_path, text), handlers=HANDLERS)


def _engine(tmp_path: Path, handlers: dict[str, object] | None = None) -> Engine:
    flow = load_flow(_write(tmp_path, GOOD))
    return Engine({"t": flow}, handlers or {}, lambda f, s, k: f"/{f}/{s}/{k}")  # type: ignore[arg-type]


def test_engine_retries_once_with_the_gather_then_on_fail(tmp_path: Path) -> None:
    e = _engine(tmp_path)
    ctx: dict[str, object] = {}
    first = e.enter("t", None, ctx)
    assert isinstance(first[0], Gather) and first[0].num_digits == 1
    assert first[1] == Redirect("/t/menu/timeout")
    again = e.input("t", "menu", ctx, Turn(digits="9"))  # invalid key: one retry
    assert isinstance(again[0], Gather)
    out = e.input("t", "menu", ctx, Turn(timed_out=True))  # silence again: on_fail
    assert out == [Say("再见"), Hangup()]


def test_engine_handler_retry_outcome(tmp_path: Path) -> None:
    text = GOOD.replace('    choices: {"1": done}\n', "    handler: check\n    outcomes: {ok: done}\n")
    flow = load_flow(_write(tmp_path, text))
    calls: list[str] = []

    def check(ctx: dict[str, object], turn: Turn | None) -> str:
        calls.append(turn.digits if turn else "")
        return "ok" if turn and turn.digits == "1" else RETRY

    e = Engine({"t": flow}, {"check": check}, lambda f, s, k: k)
    ctx: dict[str, object] = {}
    assert isinstance(e.input("t", "menu", ctx, Turn(digits="5"))[0], Gather)
    assert e.input("t", "menu", ctx, Turn(digits="1"))[-1] == Hangup()
    assert calls == ["5", "1"]


def test_numbers_are_read_digit_by_digit() -> None:
    assert digits_zh("12319-20261125-000123") == "幺 二 三 幺 九，二 零 二 六 幺 幺 二 五，零 零 零 幺 二 三"
    assert case_number_from_keys("20261125000123", "12319") == "12319-20261125-000123"
    assert case_number_from_keys("1231920261125000123#", "12319") == "12319-20261125-000123"
    assert case_number_from_keys("123", "12319") is None
