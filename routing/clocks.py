"""The SLA clocks of a case, kept by one transition observer (`on_transition`, registered by
`hotline.wiring` with `cases.hooks.on_transition`) inside the transaction of every lifecycle move.

A round of work starts at 派遣 (DISPATCH, or a supervisor's 审定 RULE): running clocks are cancelled, the SLA
policy for the case's category and grade is chosen (`routing.sla_policies.policy_for`) and recorded on the
case with its version, and the 签收 (sign) clock starts. 签收 (ACCEPT) stops it (met / late) and starts the
办结 (handle) clock; 反馈 (HANDLE) stops that and starts the 核实 (verify) clock; 核实 (VERIFY) stops it.
核实未通过 (VERIFY_FAIL) stops it and starts a new handle clock one grade up, with a fresh policy choice.
退单 (RETURN) stops the running clock as `returned`; 重开 / 合并 / 不予立案 / 结案 cancel it. 补充材料
(REQUEST_INFO) and 申请延期 (REQUEST_EXTENSION) pause it, keeping what it had left; 材料已补充 (RESUME),
驳回延期 (REFUSE_EXTENSION) and 延期 (EXTEND, with the granted working days added) resume it.

The clocks of one round count with the policy version recorded when the round began: an edited policy never
moves them, unless a supervisor asks (`recalculate_deadlines`). Deadlines are counted on the working
calendar (`routing.calendar.working_calendar`) with the pure arithmetic of `routing.sla`.

The case's columns mirror the round: `dispatch_deadline` the 签收 deadline, `handle_deadline` the 办结 one
(before 签收: the latest it can be, counted from the 签收 deadline), `verify_deadline` the 核实 one. A paused
clock keeps the mirror it had (the clock row says it is paused); a return or a reopen, which hand the case
back to the agents, clears them. The counters (return_count, reopen_count, extension_count) count here too,
so every move counts whoever makes it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any, cast

from sqlmodel import Session, col, select

from cases.lifecycle import ACTION_LABELS_ZH, Action
from cases.models import Case, CaseEvent, utcnow
from cases.reference import InvalidInput, actor_id
from cases.service import record_event
from cases.states import EventKind
from routing.calendar import working_calendar
from routing.models import ClockKind, ClockOutcome, ExtensionRequest, ExtensionState, SlaClock
from routing.sla import (
    WORKING_UNITS,
    TimeLimit,
    Unit,
    WorkingCalendar,
    add_working_seconds,
    deadline,
    limit_seconds,
    remaining_seconds,
    resume_deadline,
)
from routing.sla_policies import (
    Policy,
    PolicyBook,
    limits_for_grade,
    load_policies,
    next_grade,
    policy_book,
    policy_for,
    policy_version,
)

PAUSE_INFO = "request_info"  # 补充材料: waiting on the resident
PAUSE_EXTENSION = "request_extension"  # 申请延期: waiting on a supervisor's decision
CLOCK_ACTOR = "system:clocks"
# The case's column that mirrors each kind of clock's deadline.
MIRROR = {
    ClockKind.SIGN: "dispatch_deadline",
    ClockKind.HANDLE: "handle_deadline",
    ClockKind.VERIFY: "verify_deadline",
}
KIND_ZH = {ClockKind.SIGN.value: "签收", ClockKind.HANDLE.value: "办结", ClockKind.VERIFY.value: "核实"}


class ClockError(InvalidInput):
    """A clock operation that cannot be carried out (the message says why, for a person)."""


# --- reading -----------------------------------------------------------------------------------------


def running_clock(session: Session, case_id: int | None) -> SlaClock | None:
    """The case's clock that has not stopped (running or paused), or None."""
    if case_id is None:
        return None
    query = (
        select(SlaClock)
        .where(SlaClock.case_id == case_id, col(SlaClock.stopped_at).is_(None))
        .order_by(col(SlaClock.id).desc())
    )
    return session.exec(query).first()


def clocks_of(session: Session, case_id: int | None) -> list[SlaClock]:
    """Every clock of the case, oldest first."""
    if case_id is None:
        return []
    query = select(SlaClock).where(SlaClock.case_id == case_id).order_by(col(SlaClock.started_at), col(SlaClock.id))
    return list(session.exec(query))


def is_working(clock: SlaClock) -> bool:
    """Whether the clock counts working time (working units) or natural time."""
    return clock.limit_unit in WORKING_UNITS


def limit_of(clock: SlaClock) -> TimeLimit:
    return TimeLimit(clock.limit_amount, cast(Unit, clock.limit_unit))


def pause_reasons(clock: SlaClock) -> frozenset[str]:
    """Why a clock is paused (both at once is possible: waiting on the resident and on a decision)."""
    return frozenset(r for r in (clock.pause_reason or "").split(",") if r)


def is_paused(clock: SlaClock) -> bool:
    return clock.stopped_at is None and clock.paused_at is not None


def left_seconds(clock: SlaClock, now: datetime, cal: WorkingCalendar | None = None) -> float:
    """What the clock has left at `now` in its own seconds (negative when overdue; 0 once stopped)."""
    if clock.stopped_at is not None:
        return 0.0
    if clock.due_at is None:
        return float(clock.remaining_seconds or 0.0)
    return remaining_seconds(now, clock.due_at, is_working(clock), cal or working_calendar())


@dataclass(frozen=True)
class Planned:
    """What a dispatch now would give (a read for previews and the agents' queue)."""

    policy: Policy
    sign_due: datetime
    handle_due: datetime


def planned_deadlines(
    category_code: str | None,
    grade: str | None,
    now: datetime,
    *,
    policies: PolicyBook | None = None,
    cal: WorkingCalendar | None = None,
) -> Planned:
    """The 签收 deadline and the latest 办结 deadline a dispatch at `now` would set (the policy book this
    process holds unless one is given)."""
    cal = cal or working_calendar()
    policy = policy_for(policies or policy_book(), category_code, grade)
    sign_due = deadline(now, policy.sign, cal)
    return Planned(policy, sign_due, deadline(sign_due, policy.handle, cal))


# --- one move ----------------------------------------------------------------------------------------


@dataclass
class _Move:
    session: Session
    case: Case
    event: CaseEvent

    @property
    def now(self) -> datetime:
        return self.event.at

    @cached_property
    def cal(self) -> WorkingCalendar:
        return working_calendar()

    def note(self, **data: Any) -> None:
        """Say on the move's event what the clocks did (a new dict: the JSON column sees the change)."""
        shown = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in data.items()}
        self.event.data = {**(self.event.data or {}), **shown}
        self.session.add(self.event)


def _start(m: _Move, kind: ClockKind, limit: TimeLimit) -> SlaClock:
    case = m.case
    assert case.id is not None
    clock = SlaClock(
        case_id=case.id,
        kind=kind.value,
        department_code=case.department_code,
        grade=case.grade,
        policy_code=case.sla_policy_code,
        policy_version=case.sla_policy_version,
        limit_amount=limit.amount,
        limit_unit=limit.unit,
        started_at=m.now,
        due_at=deadline(m.now, limit, m.cal),
    )
    m.session.add(clock)
    m.session.flush()
    m.case.overdue = False  # the flag belongs to the running clock (the ladder sets it)
    return clock


def _outcome(clock: SlaClock, now: datetime) -> ClockOutcome:
    if clock.due_at is not None:
        return ClockOutcome.LATE if now > clock.due_at else ClockOutcome.MET
    return ClockOutcome.LATE if (clock.remaining_seconds or 0.0) < 0 else ClockOutcome.MET


def _void_pending(m: _Move, clock: SlaClock) -> None:
    """A clock that stops ends the extension requests still waiting on it."""
    label = ACTION_LABELS_ZH.get(Action(m.event.action), m.event.action)
    query = select(ExtensionRequest).where(
        ExtensionRequest.clock_id == clock.id, ExtensionRequest.state == ExtensionState.PENDING.value
    )
    for request in m.session.exec(query):
        request.state = ExtensionState.REFUSED.value
        request.decided_by = CLOCK_ACTOR
        request.decided_at = m.now
        request.decision_note = f"计时已结束（{label}），申请自动失效"
        m.session.add(request)


def _stop(m: _Move, outcome: ClockOutcome | None = None, *, handover: bool = False) -> SlaClock | None:
    """Stop the running clock, if any (met/late by its own deadline unless `outcome` says otherwise)."""
    clock = running_clock(m.session, m.case.id)
    if clock is None:
        return None
    clock.outcome = (outcome or _outcome(clock, m.now)).value
    clock.stopped_at = m.now
    m.session.add(clock)
    if not handover:
        _void_pending(m, clock)
    m.case.overdue = False
    m.note(clock_stopped={"kind": clock.kind, "outcome": clock.outcome})
    return clock


def _choose_policy(m: _Move) -> Policy:
    """A new round's policy: the one the routing rule named on the 派遣 (`sla_policy` in the event's data),
    else today's active one for the case's category and grade; recorded on the case."""
    book = load_policies(m.session)
    named = (m.event.data or {}).get("sla_policy")
    chosen = next((p for p in book.policies if named and p.code == named), None)
    policy = limits_for_grade(chosen, m.case.grade) if chosen else policy_for(book, m.case.category_code, m.case.grade)
    m.case.sla_policy_code, m.case.sla_policy_version = policy.code, policy.version
    m.note(sla_policy=policy.code, sla_policy_version=policy.version)
    return policy


def _round_policy(m: _Move) -> Policy:
    """The policy version the round began with, for the case's grade (today's choice if none was kept)."""
    row = policy_version(m.session, m.case.sla_policy_code, m.case.sla_policy_version)
    if row is None:
        return _choose_policy(m)
    return limits_for_grade(row, m.case.grade)


def _mirror(m: _Move, clock: SlaClock) -> None:
    """The case's deadline column of the clock's kind follows it while it runs (and the projected 办结
    deadline follows the 签收 one)."""
    if clock.due_at is None:
        return
    kind = ClockKind(clock.kind)
    setattr(m.case, MIRROR[kind], clock.due_at)
    if kind == ClockKind.SIGN:
        m.case.handle_deadline = deadline(clock.due_at, _round_policy(m).handle, m.cal)
        m.note(handle_deadline=m.case.handle_deadline)
    m.note(**{MIRROR[kind]: clock.due_at})


def _clear_mirrors(case: Case) -> None:
    case.dispatch_deadline = case.handle_deadline = case.verify_deadline = None


# --- pause, resume, extend ---------------------------------------------------------------------------


def _pause(m: _Move, reason: str) -> None:
    clock = running_clock(m.session, m.case.id)
    if clock is None:
        return
    reasons = pause_reasons(clock)
    if reason in reasons:
        return
    if not reasons and clock.due_at is not None:
        clock.remaining_seconds = remaining_seconds(m.now, clock.due_at, is_working(clock), m.cal)
        clock.due_at = None
        clock.paused_at = m.now
    clock.pause_reason = ",".join(sorted(reasons | {reason}))
    m.session.add(clock)
    m.note(clock_paused={"kind": clock.kind, "remaining_seconds": clock.remaining_seconds, "why": reason})


def _resume(m: _Move, reason: str) -> None:
    clock = running_clock(m.session, m.case.id)
    if clock is None or reason not in pause_reasons(clock):
        return
    rest = pause_reasons(clock) - {reason}
    clock.pause_reason = ",".join(sorted(rest)) or None
    if not rest:
        clock.due_at = resume_deadline(m.now, clock.remaining_seconds or 0.0, is_working(clock), m.cal)
        clock.paused_at = None
        clock.remaining_seconds = None
        _mirror(m, clock)
    m.session.add(clock)


def extended_due(clock: SlaClock, now: datetime, working_days: int, cal: WorkingCalendar) -> datetime:
    """The deadline after adding `working_days` to what the clock has left (pure). An overdue clock gets
    them from now: an extension never lands in the past."""
    if clock.due_at is not None:
        base = clock.due_at
    else:
        base = resume_deadline(now, clock.remaining_seconds or 0.0, is_working(clock), cal)
    return deadline(max(base, now), TimeLimit(working_days, "working_days"), cal)


def _granted_days(event: CaseEvent) -> int:
    days = (event.data or {}).get("working_days")
    return days if isinstance(days, int) and not isinstance(days, bool) and days > 0 else 0


def _extend(m: _Move) -> None:
    days = _granted_days(m.event)
    m.case.extension_count += 1
    clock = running_clock(m.session, m.case.id)
    if clock is None:
        # A case dispatched before the clocks existed: its 办结 deadline moves as it always did.
        if days and m.case.handle_deadline is not None:
            m.case.handle_deadline = deadline(
                max(m.case.handle_deadline, m.now), TimeLimit(days, "working_days"), m.cal
            )
        return
    if days:
        new_due = extended_due(clock, m.now, days, m.cal)
        if clock.due_at is not None:
            clock.due_at = new_due
            m.case.overdue = False
            _mirror(m, clock)
        else:
            clock.remaining_seconds = remaining_seconds(m.now, new_due, is_working(clock), m.cal)
        m.session.add(clock)
        m.note(clock_extended={"kind": clock.kind, "working_days": days, "due_at": new_due.isoformat()})
    _resume(m, PAUSE_EXTENSION)


# --- the moves ---------------------------------------------------------------------------------------


def _dispatched(m: _Move) -> None:
    _stop(m, ClockOutcome.CANCELLED)
    policy = _choose_policy(m)
    sign = _start(m, ClockKind.SIGN, policy.sign)
    m.case.verify_deadline = None
    _mirror(m, sign)


def _accepted(m: _Move) -> None:
    sign = _stop(m, handover=True)
    handle = _start(m, ClockKind.HANDLE, _round_policy(m).handle)
    if sign is not None:
        _hand_over(m, sign, handle)
    _mirror(m, handle)


def _hand_over(m: _Move, old: SlaClock, new: SlaClock) -> None:
    """签收 while the case waited (on the resident, on a decision): the 办结 clock starts waiting too, with
    its whole limit left, and the extension request waits on it."""
    reasons = pause_reasons(old)
    if reasons and new.due_at is not None:
        new.remaining_seconds = remaining_seconds(m.now, new.due_at, is_working(new), m.cal)
        new.due_at, new.paused_at, new.pause_reason = None, m.now, ",".join(sorted(reasons))
        m.session.add(new)
    query = select(ExtensionRequest).where(
        ExtensionRequest.clock_id == old.id, ExtensionRequest.state == ExtensionState.PENDING.value
    )
    for request in m.session.exec(query):
        request.clock_id = new.id
        m.session.add(request)


def _handled(m: _Move) -> None:
    _stop(m)
    verify = _start(m, ClockKind.VERIFY, _round_policy(m).verify)
    _mirror(m, verify)


def _verified(m: _Move) -> None:
    _stop(m)


def _verify_failed(m: _Move) -> None:
    """Back to the department one grade up, with a shorter limit (the policy chosen again for that grade)."""
    _stop(m)
    before = m.case.grade
    m.case.grade = next_grade(before)
    policy = _choose_policy(m)
    handle = _start(m, ClockKind.HANDLE, policy.handle)
    m.case.verify_deadline = None
    _mirror(m, handle)
    m.note(grade=[before, m.case.grade])


def _returned(m: _Move) -> None:
    _stop(m, ClockOutcome.RETURNED)
    m.case.return_count += 1
    _clear_mirrors(m.case)
    m.note(return_count=m.case.return_count, department_code=m.case.department_code)


def _reopened(m: _Move) -> None:
    _stop(m, ClockOutcome.CANCELLED)
    m.case.reopen_count += 1
    _clear_mirrors(m.case)
    m.note(reopen_count=m.case.reopen_count, department_code=m.case.department_code)


def _cancelled(m: _Move) -> None:
    _stop(m, ClockOutcome.CANCELLED)


_HANDLERS: dict[str, Callable[[_Move], None]] = {
    Action.DISPATCH.value: _dispatched,
    Action.RULE.value: _dispatched,
    Action.REASSIGN.value: _dispatched,  # 改派: the new department's round, from its own 签收
    Action.ACCEPT.value: _accepted,
    Action.HANDLE.value: _handled,
    Action.VERIFY.value: _verified,
    Action.VERIFY_FAIL.value: _verify_failed,
    Action.RETURN.value: _returned,
    Action.REOPEN.value: _reopened,
    Action.MERGE.value: _cancelled,
    Action.REJECT.value: _cancelled,
    Action.CLOSE.value: _cancelled,
    Action.REQUEST_INFO.value: lambda m: _pause(m, PAUSE_INFO),
    Action.RESUME.value: lambda m: _resume(m, PAUSE_INFO),
    Action.REQUEST_EXTENSION.value: lambda m: _pause(m, PAUSE_EXTENSION),
    Action.REFUSE_EXTENSION.value: lambda m: _resume(m, PAUSE_EXTENSION),
    Action.EXTEND.value: _extend,
}


def on_transition(session: Session, case: Case, event: CaseEvent) -> None:
    """The observer: keep the case's clocks and deadline columns right after `event` (in its transaction)."""
    handler = _HANDLERS.get(event.action)
    if handler is not None:
        handler(_Move(session, case, event))
        session.add(case)


# --- a supervisor's recalculation --------------------------------------------------------------------


def _shifted(planned: datetime, offset: float, working: bool, cal: WorkingCalendar) -> datetime:
    if working and offset > 0:
        return add_working_seconds(planned, offset, cal)
    return planned + timedelta(seconds=offset)


def recalculate_deadlines(
    session: Session, case: Case, actor: str, reason: str, *, now: datetime | None = None
) -> SlaClock:
    """A supervisor's explicit ask: count the running clock again from its start with today's policy for
    the case's category and grade (the time pauses and extensions added kept), record the new version on
    the case, and write an event. The caller commits."""
    actor = actor_id(actor)
    if not actor.startswith("supervisor:"):
        raise ClockError("只有班长（值班长）可以按新时限重新计算期限")
    if not reason.strip():
        raise ClockError("请填写重新计算期限的原因")
    clock = running_clock(session, case.id)
    if clock is None:
        raise ClockError("该工单没有正在计时的时限，无需重新计算")
    now = now or utcnow()
    cal = working_calendar()
    policy = policy_for(load_policies(session), case.category_code, case.grade)
    old_limit, new_limit = limit_of(clock), policy.limit(clock.kind)
    before: dict[str, Any] = {"due_at": clock.due_at, "remaining_seconds": clock.remaining_seconds}
    if clock.due_at is not None:
        planned_old = deadline(clock.started_at, old_limit, cal)
        offset = remaining_seconds(planned_old, clock.due_at, is_working(clock), cal)
        clock.due_at = _shifted(deadline(clock.started_at, new_limit, cal), offset, new_limit.working, cal)
    else:
        gained = limit_seconds(new_limit, cal) - limit_seconds(old_limit, cal)
        clock.remaining_seconds = (clock.remaining_seconds or 0.0) + gained
    clock.limit_amount, clock.limit_unit = new_limit.amount, new_limit.unit
    clock.policy_code, clock.policy_version = policy.code, policy.version
    case.sla_policy_code, case.sla_policy_version = policy.code, policy.version
    session.add(clock)
    if clock.due_at is not None:
        setattr(case, MIRROR[ClockKind(clock.kind)], clock.due_at)
        if clock.kind == ClockKind.SIGN.value:
            case.handle_deadline = deadline(clock.due_at, policy.handle, cal)
        case.overdue = case.overdue and clock.due_at <= now
    session.add(case)
    record_event(
        session,
        case,
        EventKind.SLA_RECALCULATED,
        actor,
        reason=reason.strip(),
        at=now,
        data={
            "clock": clock.kind,
            "policy": policy.code,
            "policy_version": policy.version,
            "limit": [f"{old_limit.amount:g} {old_limit.unit}", f"{new_limit.amount:g} {new_limit.unit}"],
            "before": {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in before.items()},
            "after": {
                "due_at": clock.due_at.isoformat() if clock.due_at else None,
                "remaining_seconds": clock.remaining_seconds,
            },
        },
    )
    session.flush()
    return clock
