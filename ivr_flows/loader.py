"""Load call flows from YAML and refuse a broken one at start-up, naming the file and line.

A flow that loads is walkable: every target exists, every prompt has words, every gather has a way
out (`on_fail`) so a caller never meets a dead end.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

FLOWS_DIR = Path(__file__).parent / "flows"

STEP_TYPES: dict[str, set[str]] = {
    "decide": {"type", "handler", "outcomes"},
    "say": {"type", "say", "next"},
    "gather": {
        "type",
        "input",
        "say",
        "retry_say",
        "choices",
        "handler",
        "outcomes",
        "on_fail",
        "num_digits",
        "finish_on_key",
        "timeout",
        "hints",
        "max_retries",
    },
    "enqueue": {"type", "say", "wait_say", "outcomes"},
    "record": {"type", "say", "handler", "next", "max_length"},
    "hangup": {"type", "say"},
    # Wait for background work without holding a webhook open: say something, pause, ask the handler again.
    "poll": {"type", "say", "handler", "outcomes", "pause", "max_polls"},
}
TOP_KEYS = {"flow", "description", "start", "prompts", "steps"}
PROMPT_KEYS = {"text", "audio"}
DIGIT_KEYS = set("0123456789*#")
ENQUEUE_OUTCOMES = {"bridged", "hangup", "leave", "other"}


class FlowError(ValueError):
    """A flow file is invalid. The message starts with `file:line:`."""


class _Map(dict[str, Any]):
    """A YAML mapping that remembers the line of each key (1-based) and its own."""

    line: int = 0
    key_lines: dict[str, int]


class _LineLoader(yaml.SafeLoader):
    pass


def _construct_map(loader: _LineLoader, node: yaml.MappingNode) -> _Map:
    m = _Map()
    m.line = node.start_mark.line + 1
    m.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        key = str(key)
        m[key] = loader.construct_object(value_node, deep=True)
        m.key_lines[key] = key_node.start_mark.line + 1
    return m


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_map)


@dataclass(frozen=True)
class Prompt:
    text: str
    audio: str | None = None


@dataclass(frozen=True)
class Step:
    name: str
    type: str
    spec: dict[str, Any]
    line: int

    def prompts(self, key: str = "say") -> list[str]:
        v = self.spec.get(key) or []
        return [v] if isinstance(v, str) else list(v)


@dataclass(frozen=True)
class Flow:
    name: str
    start: str
    prompts: dict[str, Prompt]
    steps: dict[str, Step]
    path: str = ""
    handlers_used: set[str] = field(default_factory=set)


class _Source:
    """The file a flow comes from: every error names it and a line."""

    def __init__(self, path: Path) -> None:
        self.where = str(path)

    def error(self, line: int, msg: str) -> FlowError:
        return FlowError(f"{self.where}:{line}: {msg}")


def load_flow(path: Path, handlers: set[str] | None = None) -> Flow:
    """Parse and validate one flow file. `handlers`: the names the runtime provides (checked when given)."""
    src = _Source(path)
    doc = _parse(path, src)
    _check_top_keys(doc, src)
    prompts = _load_prompts(doc, src)
    raw_steps = _step_mappings(doc, src)
    steps = {name: _load_step(name, spec, raw_steps.key_lines[name], src) for name, spec in raw_steps.items()}
    for step in steps.values():
        _StepCheck(step, raw_steps[step.name].key_lines, steps, prompts, src).run()
    if doc["start"] not in steps:
        raise src.error(doc.key_lines["start"], f"start goes to unknown step {doc['start']!r}")
    used = {str(step.spec["handler"]) for step in steps.values() if "handler" in step.spec}
    _check_handlers_provided(used, handlers, doc, src)
    return Flow(
        name=str(doc["flow"]), start=str(doc["start"]), prompts=prompts, steps=steps, path=src.where, handlers_used=used
    )


def _parse(path: Path, src: _Source) -> _Map:
    try:
        doc = yaml.load(path.read_text(encoding="utf-8"), Loader=_LineLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 0
        raise src.error(line, f"not valid YAML: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(doc, _Map):
        raise src.error(1, "a flow is a mapping with flow, start, prompts and steps")
    return doc


def _check_top_keys(doc: _Map, src: _Source) -> None:
    for key in doc:
        if key not in TOP_KEYS:
            raise src.error(doc.key_lines[key], f"unknown key {key!r} (allowed: {', '.join(sorted(TOP_KEYS))})")
    for key in ("flow", "start", "prompts", "steps"):
        if key not in doc:
            raise src.error(doc.line, f"missing {key!r}")


def _load_prompts(doc: _Map, src: _Source) -> dict[str, Prompt]:
    raw_prompts = doc["prompts"]
    if not isinstance(raw_prompts, _Map):
        raise src.error(doc.key_lines["prompts"], "prompts must be a mapping of name → {text, audio}")
    return {name: _load_prompt(name, p, raw_prompts.key_lines[name], src) for name, p in raw_prompts.items()}


def _load_prompt(name: str, raw: Any, line: int, src: _Source) -> Prompt:
    p = {"text": raw} if isinstance(raw, str) else raw
    if not isinstance(p, dict):
        raise src.error(line, f"prompt {name!r} must be text or {{text, audio}}")
    for k in p:
        if k not in PROMPT_KEYS:
            raise src.error(line, f"prompt {name!r}: unknown key {k!r} (allowed: text, audio)")
    text = str(p.get("text") or "").strip()
    if not text:
        raise src.error(line, f"prompt {name!r} has no text (every prompt needs words, even with a recording)")
    return Prompt(text=text, audio=p.get("audio"))


def _step_mappings(doc: _Map, src: _Source) -> _Map:
    raw_steps = doc["steps"]
    if not isinstance(raw_steps, _Map) or not raw_steps:
        raise src.error(doc.key_lines["steps"], "steps must be a non-empty mapping")
    return raw_steps


def _load_step(name: str, spec: Any, line: int, src: _Source) -> Step:
    """A step's shape: a mapping with a known type and only that type's keys."""
    if not isinstance(spec, _Map):
        raise src.error(line, f"step {name!r} must be a mapping")
    stype = spec.get("type")
    if stype not in STEP_TYPES:
        raise src.error(line, f"step {name!r}: unknown type {stype!r} (one of {', '.join(sorted(STEP_TYPES))})")
    for k in spec:
        if k not in STEP_TYPES[stype]:
            allowed = ", ".join(sorted(STEP_TYPES[stype]))
            raise src.error(spec.key_lines[k], f"step {name!r}: unknown key {k!r} for a {stype} step ({allowed})")
    return Step(name=name, type=stype, spec=dict(spec), line=line)


def _check_handlers_provided(used: set[str], handlers: set[str] | None, doc: _Map, src: _Source) -> None:
    if handlers is None:
        return
    missing = sorted(used - handlers)
    if missing:
        raise src.error(doc.line, f"handlers not provided by the runtime: {', '.join(missing)}")


@dataclass(frozen=True)
class _StepCheck:
    """One step's meaning, once every step has its shape: the prompts and steps it names exist, and
    its type has what a caller needs to get through it."""

    step: Step
    key_lines: dict[str, int]
    steps: dict[str, Step]
    prompts: dict[str, Prompt]
    src: _Source

    def run(self) -> None:
        self.prompt_names()
        for check in _CHECKS_BY_TYPE[self.step.type]:
            check(self)
        self.outcome_targets()

    # --- every type -------------------------------------------------------------------------------
    def prompt_names(self) -> None:
        for key in ("say", "retry_say", "wait_say"):
            for pname in self.step.prompts(key):
                if pname not in self.prompts:
                    raise self.fail(self.line_of(key), f"{key} names unknown prompt {pname!r}")

    def outcome_targets(self) -> None:
        for to in (self.step.spec.get("outcomes") or {}).values():
            self.target(to, "outcomes")

    # --- per type ---------------------------------------------------------------------------------
    def says_first(self) -> None:
        if not self.step.prompts("say"):
            raise self.fail(self.step.line, f"a {self.step.type} step must say something first")

    def next_step(self) -> None:
        if "next" not in self.step.spec:
            raise self.fail(self.step.line, "missing 'next'")
        self.target(self.step.spec["next"], "next")

    def poll(self) -> None:
        spec = self.step.spec
        if "handler" not in spec or "other" not in (spec.get("outcomes") or {}):
            raise self.fail(self.step.line, "a poll needs a handler and outcomes.other (gave up)")

    def decide(self) -> None:
        spec = self.step.spec
        if "handler" not in spec or not isinstance(spec.get("outcomes"), dict) or not spec["outcomes"]:
            raise self.fail(self.step.line, "a decide step needs handler and outcomes")

    def enqueue(self) -> None:
        outcomes = self.step.spec.get("outcomes") or {}
        for k in outcomes:
            if k not in ENQUEUE_OUTCOMES:
                raise self.fail(self.line_of("outcomes"), f"unknown queue outcome {k!r}")
        if "other" not in outcomes:
            raise self.fail(self.step.line, "an enqueue needs outcomes.other (nobody answered)")

    def gather_asks(self) -> None:
        if self.step.spec.get("input") not in ("dtmf", "speech"):
            raise self.fail(self.line_of("input"), "input must be dtmf or speech")
        if not self.step.prompts("say"):
            raise self.fail(self.step.line, "a gather must ask something (say)")

    def gather_way_out(self) -> None:
        if "on_fail" not in self.step.spec:
            raise self.fail(self.step.line, "a gather needs on_fail (where a caller goes after retries)")
        self.target(self.step.spec["on_fail"], "on_fail")

    def gather_way_on(self) -> None:
        spec = self.step.spec
        if "choices" not in spec and "handler" not in spec:
            raise self.fail(self.step.line, "a gather needs choices or a handler")
        if "handler" in spec and (not isinstance(spec.get("outcomes"), dict) or not spec["outcomes"]):
            raise self.fail(self.step.line, "a gather with a handler needs outcomes")

    def gather_choices(self) -> None:
        choices = self.step.spec.get("choices") or {}
        if not isinstance(choices, dict):
            raise self.fail(self.line_of("choices"), "choices must map digits to steps")
        for digit, to in choices.items():
            if str(digit) not in DIGIT_KEYS:
                raise self.fail(self.key_lines["choices"], f"choice {digit!r} is not a keypad key")
            self.target(to, "choices")

    # --- helpers ----------------------------------------------------------------------------------
    def target(self, value: Any, key: str) -> None:
        if value not in self.steps:
            raise self.fail(self.line_of(key), f"{key} goes to unknown step {value!r}")

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.step.line)

    def fail(self, line: int, msg: str) -> FlowError:
        return self.src.error(line, f"step {self.step.name!r}: {msg}")


# In the order a broken step's first problem is reported.
_CHECKS_BY_TYPE: dict[str, tuple[Callable[[_StepCheck], None], ...]] = {
    "say": (_StepCheck.says_first, _StepCheck.next_step),
    "record": (_StepCheck.says_first, _StepCheck.next_step),
    "hangup": (_StepCheck.says_first,),
    "enqueue": (_StepCheck.says_first, _StepCheck.enqueue),
    "poll": (_StepCheck.poll,),
    "decide": (_StepCheck.decide,),
    "gather": (_StepCheck.gather_asks, _StepCheck.gather_way_out, _StepCheck.gather_way_on, _StepCheck.gather_choices),
}


def load_flows(directory: Path | None = None, handlers: set[str] | None = None) -> dict[str, Flow]:
    flows: dict[str, Flow] = {}
    for path in sorted((directory or FLOWS_DIR).glob("*.yaml")):
        flow = load_flow(path, handlers)
        if flow.name in flows:
            raise FlowError(f"{path}:1: flow {flow.name!r} is also defined in {flows[flow.name].path}")
        flows[flow.name] = flow
    return flows
