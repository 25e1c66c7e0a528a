"""The escalation ladder (督办阶梯) as data, and which of its steps a clock has reached. Pure: no clock
reads, no I/O — the file is parsed from what the caller read (`routing.ladder` loads it), the moment is
passed in.

A ladder is a list of steps, each with one trigger: a fraction of the clock's limit used (`fraction: 0.8`)
or a time past its deadline (`after_due: {amount: 4, unit: working_hours}`), the clock kinds it applies
to, what it does (warn, urge, yellow, red) and who is told. `due_steps` answers "which steps has this
clock reached by now?"; the sweep (`routing.escalation_sweep`) makes each happen exactly once.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from routing.sla import (
    UNITS,
    WORKING_UNITS,
    TimeLimit,
    WorkingCalendar,
    limit_seconds,
    remaining_seconds,
    working_seconds_between,
)

CLOCK_KINDS = ("sign", "handle", "verify")  # routing.models.ClockKind (kept pure: no table import here)
MAX_STEP_NAME = 32  # escalation_step.step


class StepAction(StrEnum):
    WARN = "warn"  # 预警: an sla_warning event, the department is told
    URGE = "urge"  # 催办: Action.URGE, case.overdue = True
    YELLOW = "yellow"  # 督办黄牌: Action.ESCALATE, case.supervision = yellow
    RED = "red"  # 督办红牌: Action.ESCALATE, case.supervision = red


class Target(StrEnum):
    DUTY = "duty"  # the department's duty contacts (SMS)
    HEAD = "head"  # its head contacts (SMS); the duty contacts when it has none
    WEBHOOK = "webhook"  # its own system, when an admin configured a webhook


ACTION_ZH = {
    StepAction.WARN: "预警",
    StepAction.URGE: "催办",
    StepAction.YELLOW: "黄牌督办",
    StepAction.RED: "红牌督办",
}
CLOCK_ZH = {"sign": "签收", "handle": "办结", "verify": "核实"}


class LadderError(ValueError):
    """The ladder file is not valid; the message names the file and the step."""


@dataclass(frozen=True)
class Step:
    name: str
    action: StepAction
    kinds: frozenset[str]
    notify: tuple[Target, ...] = ()
    fraction: float | None = None  # trigger: this much of the limit used
    after_due: TimeLimit | None = None  # trigger: this long past the deadline

    def applies_to(self, kind: str) -> bool:
        return kind in self.kinds


@dataclass(frozen=True)
class Ladder:
    steps: tuple[Step, ...]
    dispatch_notify: tuple[Target, ...] = (Target.DUTY, Target.WEBHOOK)

    def step(self, name: str) -> Step | None:
        return next((s for s in self.steps if s.name == name), None)


class ClockLike(Protocol):
    """What the ladder reads of a clock (routing.models.SlaClock has it all)."""

    @property
    def kind(self) -> str: ...
    @property
    def limit_amount(self) -> float: ...
    @property
    def limit_unit(self) -> str: ...
    @property
    def due_at(self) -> datetime | None: ...
    @property
    def paused_at(self) -> datetime | None: ...
    @property
    def stopped_at(self) -> datetime | None: ...


def is_running(clock: ClockLike) -> bool:
    """Counting now: started, not stopped, not paused (a paused clock has no deadline)."""
    return clock.stopped_at is None and clock.paused_at is None and clock.due_at is not None


def _limit(clock: ClockLike) -> TimeLimit:
    unit = clock.limit_unit if clock.limit_unit in UNITS else "hours"
    return TimeLimit(float(clock.limit_amount), unit)


def used_fraction(clock: ClockLike, now: datetime, cal: WorkingCalendar) -> float:
    """How much of the clock's limit is used at `now`: 0 at the start, 1 at the deadline, above 1 when
    overdue. Counted from what is left (`due_at` − now, in the clock's own seconds) against the limit, so
    time the clock spent paused (补充材料, a pending extension) is not counted as used, and a granted
    extension gives the time back. A clock without a deadline (paused) has used nothing new: 0."""
    if clock.due_at is None:
        return 0.0
    limit = _limit(clock)
    total = limit_seconds(limit, cal)
    left = remaining_seconds(now, clock.due_at, limit.working, cal)
    if total <= 0:
        return 1.0 if now >= clock.due_at else 0.0
    return 1.0 - left / total


def past_due_seconds(clock: ClockLike, now: datetime, unit: str, cal: WorkingCalendar) -> float:
    """How far past its deadline the clock is at `now`, counted in `unit`'s seconds (working seconds for
    working units); negative before the deadline."""
    if clock.due_at is None:
        return float("-inf")
    if unit in WORKING_UNITS:
        return working_seconds_between(clock.due_at, now, cal)
    return (now - clock.due_at).total_seconds()


def reached(step: Step, clock: ClockLike, now: datetime, cal: WorkingCalendar) -> bool:
    if step.fraction is not None:
        return used_fraction(clock, now, cal) >= step.fraction - 1e-9
    assert step.after_due is not None
    needed = limit_seconds(step.after_due, cal)
    over = past_due_seconds(clock, now, step.after_due.unit, cal)
    # The deadline itself must have passed (a zero allowance is not reached before it).
    return clock.due_at is not None and now >= clock.due_at and over >= needed


def due_steps(
    clock: ClockLike, ladder: Ladder, now: datetime, cal: WorkingCalendar, taken: Collection[str] = ()
) -> list[Step]:
    """The ladder's steps this clock has reached by `now` and not yet taken (`taken`: names of its steps
    already recorded), in ladder order. A paused or stopped clock takes no step."""
    if not is_running(clock):
        return []
    return [s for s in ladder.steps if s.applies_to(clock.kind) and s.name not in taken and reached(s, clock, now, cal)]


# --- the file -------------------------------------------------------------------------------------------

_STEP_KEYS = {"name", "action", "kinds", "notify", "fraction", "after_due"}


def _targets(raw: Any, where: str) -> tuple[Target, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise LadderError(f"{where}: notify must be a list of {', '.join(t.value for t in Target)}")
    try:
        found = tuple(Target(str(t)) for t in raw)
    except ValueError:
        raise LadderError(f"{where}: notify {raw!r}: use {', '.join(t.value for t in Target)}") from None
    return tuple(dict.fromkeys(found))


def _step(raw: Any, where: str) -> Step:
    if not isinstance(raw, Mapping):
        raise LadderError(f"{where}: a step is a mapping with name, action, kinds and a trigger")
    unknown = set(raw) - _STEP_KEYS
    if unknown:
        raise LadderError(f"{where}: unknown keys {', '.join(sorted(map(str, unknown)))}")
    name = str(raw.get("name") or "").strip()
    if not name or len(name) > MAX_STEP_NAME or not name.replace("_", "").replace("-", "").isalnum():
        raise LadderError(f"{where}: name must be 1-{MAX_STEP_NAME} letters, digits, '_' or '-'")
    where = f"{where} ({name})"
    try:
        action = StepAction(str(raw.get("action")))
    except ValueError:
        raise LadderError(f"{where}: action must be one of {', '.join(a.value for a in StepAction)}") from None
    kinds = raw.get("kinds")
    if not isinstance(kinds, list) or not kinds or any(str(k) not in CLOCK_KINDS for k in kinds):
        raise LadderError(f"{where}: kinds must be a non-empty list of {', '.join(CLOCK_KINDS)}")
    fraction, after = raw.get("fraction"), raw.get("after_due")
    if (fraction is None) == (after is None):
        raise LadderError(f"{where}: give exactly one trigger, fraction or after_due")
    limit: TimeLimit | None = None
    if fraction is not None:
        if isinstance(fraction, bool) or not isinstance(fraction, int | float) or not 0 < fraction <= 10:
            raise LadderError(f"{where}: fraction must be a number above 0 (1.0 = the deadline)")
    else:
        if not isinstance(after, Mapping) or set(after) != {"amount", "unit"}:
            raise LadderError(f"{where}: after_due is {{amount: N, unit: U}}")
        amount, unit = after["amount"], str(after["unit"])
        if isinstance(amount, bool) or not isinstance(amount, int | float) or amount < 0 or unit not in UNITS:
            raise LadderError(f"{where}: after_due needs an amount ≥ 0 and a unit of {', '.join(UNITS)}")
        limit = TimeLimit(float(amount), unit)
    return Step(
        name=name,
        action=action,
        kinds=frozenset(str(k) for k in kinds),
        notify=_targets(raw.get("notify"), where),
        fraction=float(fraction) if fraction is not None else None,
        after_due=limit,
    )


def parse_ladder(data: Any, source: str = "escalation.yaml") -> Ladder:
    """The ladder a parsed YAML document describes, or LadderError naming `source` and the step."""
    if not isinstance(data, Mapping) or not isinstance(data.get("steps"), list):
        raise LadderError(f"{source}: expected a mapping with a list of steps")
    unknown = set(data) - {"steps", "dispatch"}
    if unknown:
        raise LadderError(f"{source}: unknown keys {', '.join(sorted(map(str, unknown)))}")
    steps = tuple(_step(raw, f"{source}: step {i + 1}") for i, raw in enumerate(data["steps"]))
    names = [s.name for s in steps]
    if len(set(names)) != len(names):
        raise LadderError(f"{source}: step names must be unique ({', '.join(sorted(names))})")
    dispatch = data.get("dispatch") or {}
    if not isinstance(dispatch, Mapping) or set(dispatch) - {"notify"}:
        raise LadderError(f"{source}: dispatch is {{notify: [...]}}")
    return Ladder(steps=steps, dispatch_notify=_targets(dispatch.get("notify"), f"{source}: dispatch"))
