"""Load call flows from YAML and refuse a broken one at start-up, naming the file and line.

A flow that loads is walkable: every target exists, every prompt has words, every gather has a way
out (`on_fail`) so a caller never meets a dead end.
"""

from __future__ import annotations

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


def load_flow(path: Path, handlers: set[str] | None = None) -> Flow:
    """Parse and validate one flow file. `handlers`: the names the runtime provides (checked when given)."""
    where = str(path)
    try:
        doc = yaml.load(path.read_text(encoding="utf-8"), Loader=_LineLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 0
        raise FlowError(f"{where}:{line}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(doc, _Map):
        raise FlowError(f"{where}:1: a flow is a mapping with flow, start, prompts and steps")

    def err(line: int, msg: str) -> FlowError:
        return FlowError(f"{where}:{line}: {msg}")

    for key in doc:
        if key not in TOP_KEYS:
            raise err(doc.key_lines[key], f"unknown key {key!r} (allowed: {', '.join(sorted(TOP_KEYS))})")
    for key in ("flow", "start", "prompts", "steps"):
        if key not in doc:
            raise err(doc.line, f"missing {key!r}")

    prompts: dict[str, Prompt] = {}
    raw_prompts = doc["prompts"]
    if not isinstance(raw_prompts, _Map):
        raise err(doc.key_lines["prompts"], "prompts must be a mapping of name → {text, audio}")
    for name, p in raw_prompts.items():
        line = raw_prompts.key_lines[name]
        if isinstance(p, str):
            p = {"text": p}
        if not isinstance(p, dict):
            raise err(line, f"prompt {name!r} must be text or {{text, audio}}")
        for k in p:
            if k not in PROMPT_KEYS:
                raise err(line, f"prompt {name!r}: unknown key {k!r} (allowed: text, audio)")
        text = str(p.get("text") or "").strip()
        if not text:
            raise err(line, f"prompt {name!r} has no text (every prompt needs words, even with a recording)")
        prompts[str(name)] = Prompt(text=text, audio=p.get("audio"))

    raw_steps = doc["steps"]
    if not isinstance(raw_steps, _Map) or not raw_steps:
        raise err(doc.key_lines["steps"], "steps must be a non-empty mapping")
    steps: dict[str, Step] = {}
    used: set[str] = set()
    for name, spec in raw_steps.items():
        line = raw_steps.key_lines[name]
        if not isinstance(spec, _Map):
            raise err(line, f"step {name!r} must be a mapping")
        stype = spec.get("type")
        if stype not in STEP_TYPES:
            raise err(line, f"step {name!r}: unknown type {stype!r} (one of {', '.join(sorted(STEP_TYPES))})")
        for k in spec:
            if k not in STEP_TYPES[stype]:
                allowed = ", ".join(sorted(STEP_TYPES[stype]))
                raise err(spec.key_lines[k], f"step {name!r}: unknown key {k!r} for a {stype} step ({allowed})")
        steps[str(name)] = Step(name=str(name), type=stype, spec=dict(spec), line=line)

    for step in steps.values():
        spec = raw_steps[step.name]
        kl = spec.key_lines

        def target(value: Any, key: str, step: Step = step, kl: dict[str, int] = kl) -> None:
            if value not in steps:
                raise err(kl.get(key, step.line), f"step {step.name!r}: {key} goes to unknown step {value!r}")

        for key in ("say", "retry_say", "wait_say"):
            for pname in step.prompts(key):
                if pname not in prompts:
                    raise err(kl.get(key, step.line), f"step {step.name!r}: {key} names unknown prompt {pname!r}")
        if step.type in ("say", "hangup", "record", "enqueue") and not step.prompts("say"):
            raise err(step.line, f"step {step.name!r}: a {step.type} step must say something first")
        if step.type in ("say", "record"):
            if "next" not in spec:
                raise err(step.line, f"step {step.name!r}: missing 'next'")
            target(spec["next"], "next")
        if step.type == "poll":
            if "handler" not in spec or "other" not in (spec.get("outcomes") or {}):
                raise err(step.line, f"step {step.name!r}: a poll needs a handler and outcomes.other (gave up)")
        if step.type in ("decide", "record", "poll") and "handler" in spec:
            used.add(str(spec["handler"]))
        if step.type == "decide":
            if "handler" not in spec or not isinstance(spec.get("outcomes"), dict) or not spec["outcomes"]:
                raise err(step.line, f"step {step.name!r}: a decide step needs handler and outcomes")
        if step.type == "gather":
            if spec.get("input") not in ("dtmf", "speech"):
                raise err(kl.get("input", step.line), f"step {step.name!r}: input must be dtmf or speech")
            if not step.prompts("say"):
                raise err(step.line, f"step {step.name!r}: a gather must ask something (say)")
            if "on_fail" not in spec:
                raise err(step.line, f"step {step.name!r}: a gather needs on_fail (where a caller goes after retries)")
            target(spec["on_fail"], "on_fail")
            if "choices" not in spec and "handler" not in spec:
                raise err(step.line, f"step {step.name!r}: a gather needs choices or a handler")
            if "handler" in spec:
                used.add(str(spec["handler"]))
                if not isinstance(spec.get("outcomes"), dict) or not spec["outcomes"]:
                    raise err(step.line, f"step {step.name!r}: a gather with a handler needs outcomes")
            choices = spec.get("choices") or {}
            if not isinstance(choices, dict):
                raise err(kl.get("choices", step.line), f"step {step.name!r}: choices must map digits to steps")
            for digit, to in choices.items():
                if str(digit) not in DIGIT_KEYS:
                    raise err(kl["choices"], f"step {step.name!r}: choice {digit!r} is not a keypad key")
                target(to, "choices")
        if step.type == "enqueue":
            outcomes = spec.get("outcomes") or {}
            for k in outcomes:
                if k not in ENQUEUE_OUTCOMES:
                    raise err(kl.get("outcomes", step.line), f"step {step.name!r}: unknown queue outcome {k!r}")
            if "other" not in outcomes:
                raise err(step.line, f"step {step.name!r}: an enqueue needs outcomes.other (nobody answered)")
        for to in (spec.get("outcomes") or {}).values():
            target(to, "outcomes")

    if doc["start"] not in steps:
        raise err(doc.key_lines["start"], f"start goes to unknown step {doc['start']!r}")
    if handlers is not None:
        missing = sorted(used - handlers)
        if missing:
            raise err(doc.line, f"handlers not provided by the runtime: {', '.join(missing)}")
    return Flow(
        name=str(doc["flow"]), start=str(doc["start"]), prompts=prompts, steps=steps, path=where, handlers_used=used
    )


def load_flows(directory: Path | None = None, handlers: set[str] | None = None) -> dict[str, Flow]:
    flows: dict[str, Flow] = {}
    for path in sorted((directory or FLOWS_DIR).glob("*.yaml")):
        flow = load_flow(path, handlers)
        if flow.name in flows:
            raise FlowError(f"{path}:1: flow {flow.name!r} is also defined in {flows[flow.name].path}")
        flows[flow.name] = flow
    return flows
