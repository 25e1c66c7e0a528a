"""合并 (one matter, many complaints): an agent folds a case into another case of the same matter. The
reports move to the target, so whoever reported either hears the target's progress; the merged case keeps
its events and ends in status 合并 naming the target, and the target's timeline says which reports joined."""

from __future__ import annotations

from sqlmodel import Session, select

from cases.lifecycle import TERMINAL, Action, CaseStatus, next_status
from cases.models import Case, Report
from cases.reference import InvalidInput
from cases.service import apply_action, record_event
from cases.states import EventKind


class MergeRefused(InvalidInput):
    """The merge cannot be done as asked (the message says why)."""


def merge_case(session: Session, case: Case, into: Case, actor: str, reason: str) -> Case:
    """Merge `case` into `into`; returns `into`. The caller commits."""
    next_status(case.status, Action.MERGE)  # IllegalTransition (a case in work is not merged) before all else
    if into.id == case.id:
        raise MergeRefused(f"case {case.number} cannot be merged into itself")
    if CaseStatus(into.status) in TERMINAL:
        raise MergeRefused(f"case {into.number} is {into.status}: merge into an open case")
    if not reason.strip():
        raise MergeRefused("a merge needs a reason")
    reports = list(session.exec(select(Report).where(Report.case_id == case.id)))
    for report in reports:
        report.case_id = into.id
        session.add(report)
    apply_action(
        session,
        case,
        Action.MERGE,
        actor,
        reason=reason,
        data={"into": into.number, "reports": [r.id for r in reports]},
        needs_review=False,  # nothing is left to confirm on a merged case
    )
    for report in reports:
        record_event(
            session,
            into,
            EventKind.LINK_REPORT,
            actor,
            reason=reason,
            data={"report_id": report.id, "channel": report.channel, "merged_from": case.number},
        )
    session.flush()
    return into
