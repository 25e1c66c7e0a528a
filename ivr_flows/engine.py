"""Walks a caller through a flow, one webhook at a time.

State lives in a plain dict (`ctx`) the adapter stores on the call session between webhooks:
`ctx["vars"]` for prompt variables, `ctx["retries"]` per step. Handlers — the parts that touch the
database or the classifier — are named in the YAML and supplied by the adapter, so this module stays
free of vendors and of I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ivr_flows.loader import Flow, Step
from ivr_flows.verbs import Enqueue, Gather, Hangup, Pause, Record, Redirect, Say, Verb

RETRY = "retry"  # a handler outcome: the input was not usable, ask once more
WAITING = "waiting"  # a poll handler's outcome: not ready yet, pause and ask again


@dataclass(frozen=True)
class Turn:
    """What the caller did at a step (one webhook's parameters)."""

    digits: str | None = None
    speech: str | None = None
    confidence: float | None = None
    timed_out: bool = False
    params: Mapping[str, str] = field(default_factory=dict)


Handler = Callable[[dict[str, Any], Turn | None], str]
# (flow, step, kind) -> URL; kind: "enter" | "input" | "timeout" | "wait" | "transcription"
UrlFor = Callable[[str, str, str], str]


class _Vars(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return ""


class Engine:
    def __init__(
        self,
        flows: Mapping[str, Flow],
        handlers: Mapping[str, Handler],
        url_for: UrlFor,
        hints: Mapping[str, list[str]] | None = None,
        max_hops: int = 20,
    ) -> None:
        self.flows = flows
        self.handlers = handlers
        self.url_for = url_for
        self.hints = hints or {}
        self.max_hops = max_hops  # a bounded walk: a decide loop in YAML cannot hang a webhook

    # --- public -----------------------------------------------------------------------------------
    def enter(self, flow_name: str, step_name: str | None, ctx: dict[str, Any]) -> list[Verb]:
        flow = self.flows[flow_name]
        return self._walk(flow, step_name or flow.start, ctx, [])

    def input(self, flow_name: str, step_name: str, ctx: dict[str, Any], turn: Turn) -> list[Verb]:
        flow = self.flows[flow_name]
        step = flow.steps[step_name]
        ctx["step"] = step_name
        if step.type == "gather":
            return self._gather_input(flow, step, ctx, turn)
        if step.type == "record":
            self._call(step, ctx, turn)
            return self._walk(flow, step.spec["next"], ctx, [])
        if step.type == "poll":
            return self._poll(flow, step, ctx, turn)
        if step.type == "enqueue":
            result = (turn.params.get("QueueResult") or "other").lower()
            key = result if result in ("bridged", "hangup", "leave") else "other"
            outcomes = step.spec.get("outcomes") or {}
            target = outcomes.get(key) or outcomes["other"]
            if key in ("bridged", "hangup") and key not in outcomes:
                return [Hangup()]  # the call is over; nothing left to say
            return self._walk(flow, target, ctx, [])
        # A say/decide/hangup step has no input: a stray request just re-enters it.
        return self._walk(flow, step_name, ctx, [])

    def wait(self, flow_name: str, step_name: str, ctx: dict[str, Any], params: Mapping[str, str]) -> list[Verb]:
        """The queue's hold loop: position, then music (the adapter adds it), or leave after too long."""
        step = self.flows[flow_name].steps[step_name]
        vars_ = _Vars(ctx.get("vars", {}))
        vars_.update({"queue_position": params.get("QueuePosition", ""), "queue_time": params.get("QueueTime", "")})
        return [self._say(self.flows[flow_name], p, vars_) for p in step.prompts("wait_say")]

    # --- walking ----------------------------------------------------------------------------------
    def _walk(self, flow: Flow, step_name: str, ctx: dict[str, Any], out: list[Verb]) -> list[Verb]:
        for _ in range(self.max_hops):
            step = flow.steps[step_name]
            ctx["step"] = step_name
            if step.type == "decide":
                outcome = self._call(step, ctx, None)
                step_name = self._outcome_target(step, outcome)
                continue
            if step.type != "gather":  # a gather speaks inside itself, so a key press can interrupt it
                out.extend(self._says(flow, step, "say", ctx))
            if step.type == "say":
                step_name = step.spec["next"]
                continue
            return out + self._terminal_verbs(flow, step, ctx)
        raise RuntimeError(f"flow {flow.name!r}: more than {self.max_hops} steps without asking the caller")

    def _terminal_verbs(self, flow: Flow, step: Step, ctx: dict[str, Any]) -> list[Verb]:
        """The verbs that end this webhook's answer: wait for input, queue, record or hang up."""
        if step.type == "hangup":
            return [Hangup()]
        if step.type == "poll":
            ctx.setdefault("polls", {})[step.name] = 0
            return self._poll_verbs(flow, step)
        if step.type == "record":
            return [
                Record(
                    action=self.url_for(flow.name, step.name, "input"),
                    max_length=int(step.spec.get("max_length", 120)),
                    transcribe_callback=self.url_for(flow.name, step.name, "transcription"),
                ),
                # Record ends on silence and posts to its action; if it did not, do not hang up silently.
                Redirect(self.url_for(flow.name, step.name, "input")),
            ]
        if step.type == "enqueue":
            return [
                Enqueue(
                    queue="",  # the adapter fills in the configured queue name
                    wait_url=self.url_for(flow.name, step.name, "wait"),
                    action=self.url_for(flow.name, step.name, "input"),
                )
            ]
        assert step.type == "gather"
        return self._gather_verbs(flow, step, ctx, retry=False)

    def _gather_verbs(self, flow: Flow, step: Step, ctx: dict[str, Any], retry: bool) -> list[Verb]:
        key = "retry_say" if retry and step.prompts("retry_say") else "say"
        spec = step.spec
        num_digits = spec.get("num_digits")
        if num_digits is None and spec.get("choices") and not spec.get("finish_on_key"):
            num_digits = 1
        hints_key = spec.get("hints")
        gather = Gather(
            input=spec["input"],
            action=self.url_for(flow.name, step.name, "input"),
            prompts=self._says(flow, step, key, ctx),
            num_digits=int(num_digits) if num_digits else None,
            finish_on_key=spec.get("finish_on_key"),
            timeout=int(spec.get("timeout", 6)),
            hints=list(self.hints.get(hints_key, [])) if hints_key else [],
        )
        # Twilio falls through a Gather that heard nothing: come back as a timed-out input.
        return [gather, Redirect(self.url_for(flow.name, step.name, "timeout"))]

    def _gather_input(self, flow: Flow, step: Step, ctx: dict[str, Any], turn: Turn) -> list[Verb]:
        spec = step.spec
        got = (turn.speech or "").strip() if spec["input"] == "speech" else (turn.digits or "").strip()
        target: str | None = None
        if got and not turn.timed_out:
            choices = {str(k): v for k, v in (spec.get("choices") or {}).items()}
            if spec["input"] == "dtmf" and choices and got[:1] in choices and "handler" not in spec:
                target = choices[got[:1]]
            elif "handler" in spec:
                outcome = self._call(step, ctx, turn)
                if outcome != RETRY:
                    target = self._outcome_target(step, outcome)
        if target is not None:
            ctx.setdefault("retries", {}).pop(step.name, None)
            return self._walk(flow, target, ctx, [])
        retries = ctx.setdefault("retries", {})
        retries[step.name] = retries.get(step.name, 0) + 1
        if retries[step.name] > int(spec.get("max_retries", 1)):
            retries.pop(step.name, None)
            return self._walk(flow, spec["on_fail"], ctx, [])
        return self._gather_verbs(flow, step, ctx, retry=True)

    def _poll_verbs(self, flow: Flow, step: Step) -> list[Verb]:
        return [Pause(int(step.spec.get("pause", 1))), Redirect(self.url_for(flow.name, step.name, "input"))]

    def _poll(self, flow: Flow, step: Step, ctx: dict[str, Any], turn: Turn) -> list[Verb]:
        polls = ctx.setdefault("polls", {})
        polls[step.name] = polls.get(step.name, 0) + 1
        outcome = self._call(step, ctx, turn)
        if outcome == WAITING and polls[step.name] < int(step.spec.get("max_polls", 8)):
            return self._poll_verbs(flow, step)
        polls.pop(step.name, None)
        return self._walk(flow, self._outcome_target(step, outcome), ctx, [])

    # --- helpers ----------------------------------------------------------------------------------
    def _call(self, step: Step, ctx: dict[str, Any], turn: Turn | None) -> str:
        name = step.spec.get("handler")
        if not name:
            return ""
        return self.handlers[str(name)](ctx, turn)

    def _outcome_target(self, step: Step, outcome: str) -> str:
        outcomes = step.spec.get("outcomes") or {}
        if outcome in outcomes:
            return str(outcomes[outcome])
        if "other" in outcomes:
            return str(outcomes["other"])
        raise KeyError(f"step {step.name!r}: handler returned {outcome!r}, not one of {sorted(outcomes)}")

    def _says(self, flow: Flow, step: Step, key: str, ctx: dict[str, Any]) -> list[Say]:
        vars_ = _Vars(ctx.get("vars", {}))
        return [self._say(flow, name, vars_) for name in step.prompts(key)]

    @staticmethod
    def _say(flow: Flow, prompt_name: str, vars_: _Vars) -> Say:
        p = flow.prompts[prompt_name]
        return Say(text=p.text.format_map(vars_), audio=p.audio if "{" not in p.text else None)
