"""What the rules see of a report (`routing_inputs`), and the record every routing leaves
(`record_decision`): the version and rule that matched, the inputs, the outcome, the rules above that did
not match and why, shadow rules that would have. Written in the routing's transaction; never committed here."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, func, select

from cases.models import Case, Report, utcnow
from cases.queries import case_reports
from cases.states import Channel
from routing.calendar import working_calendar
from routing.conditions import DayKindName, RoutingInputs
from routing.models import DecisionKind, DecisionRecord, ShadowHit
from routing.rules import RoutingDecision
from routing.sla import WorkingCalendar

REPEAT_WINDOW = timedelta(days=30)


def day_kind(cal: WorkingCalendar, at: datetime) -> DayKindName:
    """工作日 (调休 included) / 节假日 (a holiday, or a weekday off) / 周末."""
    d = at.astimezone(cal.tz).date()
    if cal.is_working_day(d):
        return DayKindName.WORKDAY
    if d in cal.holidays or d.isoweekday() in cal.weekdays:
        return DayKindName.HOLIDAY
    return DayKindName.WEEKEND


def repeat_reports(session: Session, report: Report) -> int:
    """Other reports from the same phone in the 30 days before this one (indexed by `report.phone`)."""
    if not report.phone:
        return 0
    since = report.received_at - REPEAT_WINDOW
    q = select(func.count()).where(
        Report.phone == report.phone,
        col(Report.received_at) >= since,
        col(Report.received_at) <= report.received_at,
        Report.id != report.id,
    )
    return int(session.exec(q).one())


def routing_inputs(
    session: Session,
    report: Report,
    *,
    category_code: str | None,
    category_confidence: float,
    candidates: Sequence[tuple[str, float]] = (),
    grid_code: str | None,
    community_code: str | None = None,
    grade: str | None = None,
    cal: WorkingCalendar | None = None,
) -> RoutingInputs:
    """The inputs of one routing. `candidates`: the model's (category, probability) list, empty when a
    channel or an agent chose the category (its confidence is then theirs, 1.0)."""
    cal = cal or working_calendar()
    local = report.received_at.astimezone(cal.tz)
    community = community_code or (grid_code[:12] if grid_code else None)
    hints = report.hints or {}
    event_type = hints.get("camera_event_type") or hints.get("event_type")
    return RoutingInputs(
        category_code=category_code,
        category_confidence=category_confidence,
        candidates=tuple((str(c), float(p)) for c, p in candidates),
        grid_code=grid_code,
        community_code=community,
        street_code=community[:9] if community else None,
        channel=report.channel,
        text=report.text or "",
        local_time=local.time().replace(second=0, microsecond=0, tzinfo=None),
        day=local.date(),
        day_kind=day_kind(cal, report.received_at).value,
        repeat_reports=repeat_reports(session, report) if report.channel != Channel.CAMERA else 0,
        event_type=str(event_type) if event_type else None,
        grade=grade,
    )


def decision_record(
    case_id: int,
    decision: RoutingDecision,
    inputs: RoutingInputs,
    *,
    held: bool,
    hold_reasons: Sequence[str] = (),
    kind: DecisionKind = DecisionKind.ROUTE,
    actor: str = "system",
    at: datetime | None = None,
) -> DecisionRecord:
    """The row a routing leaves (not added to any session)."""
    outcome: dict[str, Any] = decision.outcome_json() | {"held": held, "hold_reasons": list(hold_reasons)}
    if decision.shadow:
        outcome["shadow"] = [{"key": k} | would for k, would in decision.shadow]
    return DecisionRecord(
        case_id=case_id,
        at=at or utcnow(),
        kind=kind.value,
        actor=actor,
        rule_set_version=decision.version,
        rule_key=decision.rule_id,
        rule_name=decision.rule_name,
        rule_position=decision.rule_position,
        department_code=decision.department_code,
        grade=decision.grade,
        held=held,
        confidence=decision.confidence,
        inputs=inputs.to_json(),
        outcome=outcome,
        skipped=[{"position": s.position, "key": s.key, "name": s.name, "reason": s.reason} for s in decision.skipped],
        reasons=list(decision.reasons),
    )


def record_decision(
    session: Session,
    case: Case,
    decision: RoutingDecision,
    inputs: RoutingInputs,
    *,
    held: bool,
    hold_reasons: Sequence[str] = (),
    kind: DecisionKind = DecisionKind.ROUTE,
    actor: str = "system",
    at: datetime | None = None,
) -> DecisionRecord:
    """The decision record of a routing, and a shadow hit per shadow rule that matched. `held`: the case
    waits for an agent (for the rule's hold, the gate's, or the pipeline's other reasons)."""
    record = decision_record(
        case.id or 0, decision, inputs, held=held, hold_reasons=hold_reasons, kind=kind, actor=actor, at=at
    )
    session.add(record)
    session.flush()
    for key, would in decision.shadow:
        session.add(
            ShadowHit(
                decision_id=record.id or 0,
                case_id=case.id or 0,
                rule_set_version=decision.version,
                rule_key=key,
                at=record.at,
                would=would,
            )
        )
    return record


def decisions_of(session: Session, case_id: int) -> list[DecisionRecord]:
    """A case's decision records, newest first."""
    q = select(DecisionRecord).where(DecisionRecord.case_id == case_id)
    return list(session.exec(q.order_by(col(DecisionRecord.at).desc(), col(DecisionRecord.id).desc())).all())


def latest_decision(session: Session, case_id: int) -> DecisionRecord | None:
    found = decisions_of(session, case_id)
    return found[0] if found else None


def case_inputs(
    session: Session, case: Case, *, category_code: str, grid_code: str | None, grade: str | None
) -> RoutingInputs:
    """The inputs of routing a case again after a person chose its category (an agent's confirmation):
    certain (no candidates), read off its first report."""
    report = next(iter(case_reports(session, case.id)), None)
    if report is None:
        return RoutingInputs(
            category_code=category_code, category_confidence=1.0, grid_code=grid_code, grade=grade, channel=None
        )
    return routing_inputs(
        session, report, category_code=category_code, category_confidence=1.0, grid_code=grid_code, grade=grade
    )


def dispatch_data(decision: RoutingDecision, decision_id: int | None) -> dict[str, Any]:
    """What a 派遣 by the rules carries on its event: the rule, and what the clocks and notices read."""
    data: dict[str, Any] = {"rule": decision.rule_id, "rule_set_version": decision.version, "decision_id": decision_id}
    if decision.sla_policy:
        data["sla_policy"] = decision.sla_policy
    if decision.notify:
        data["notify"] = list(decision.notify)
    if decision.tags:
        data["tags"] = list(decision.tags)
    return data
