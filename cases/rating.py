"""The resident's rating of a handled case (满意 / 基本满意 / 不满意): one use case for every channel (the
track page, the survey call, the console's callback form), so a rating means the same wherever it was
given (tests/unit/test_rating_channels.py runs one rating through each channel for every status).

The rule, once per round of handling (a new 反馈 after a reopen may be rated again):
- only a case in 反馈 (handled), 核实 (verified), 回访 (surveyed) or 结案 (closed) can be rated;
- 不满意 reopens a verified, surveyed or closed case; on a handled case it is a note for the verifier,
  who sees the complaint before deciding (核实 or 核实未通过) — so it never skips 核实;
- 满意 / 基本满意 on a verified case is its 回访 (→ surveyed); on any other rateable case, a note.

一事多诉: a case may have several reporters (its merged or linked reports keep theirs). Each of them is
asked and may rate, once per round: a reporter is a phone (a report without one counts on its own), and the
rating event names the report it came through (`report_id`). 不满意 from any of them reopens the case as
above; 满意 / 基本满意 on a verified case is its 回访 once every reporter phone has rated this round (until
then a note, and the case waits in 核实 for the others). A rating stored before ratings named their report
counts as the first reporter's: every channel then reached the first reporter.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Literal

from sqlmodel import Session

from cases.lifecycle import Action, CaseStatus
from cases.models import Case, CaseEvent, Report
from cases.queries import Reporter, case_reports, reporters
from cases.service import apply_action, timeline

RATINGS: dict[str, str] = {"satisfied": "满意", "basic": "基本满意", "unsatisfied": "不满意"}
RATEABLE = frozenset({CaseStatus.HANDLED, CaseStatus.VERIFIED, CaseStatus.SURVEYED, CaseStatus.CLOSED})
# 不满意 before 核实 does not reopen: the verifier sees the complaint before deciding.
REOPENABLE = frozenset({CaseStatus.VERIFIED, CaseStatus.SURVEYED, CaseStatus.CLOSED})

Outcome = Literal["reopened", "noted_for_verifier", "surveyed", "noted", "already_rated", "not_rateable"]


def _key_of(reports: Sequence[Report], report_id: object) -> str | None:
    """The reporter a rating event names; None for a rating from before ratings named their report."""
    if not isinstance(report_id, int) or isinstance(report_id, bool):
        return None
    found = next((r for r in reports if r.id == report_id), None)
    return (found.phone or f"report:{found.id}") if found is not None else f"report:{report_id}"


def rated_this_round(events: Iterable[CaseEvent], reports: Sequence[Report]) -> set[str]:
    """Keys of the reporters who rated the latest round of handling (since its 反馈). Pure: the case's
    events (oldest first) and reports."""
    everyone = reporters(reports)
    first = next((r.key for r in everyone if r.phone), everyone[0].key if everyone else "report:?")
    rated: set[str] = set()
    for ev in events:
        if ev.action == Action.HANDLE.value:
            rated = set()
        elif ev.data.get("rating"):
            rated.add(_key_of(reports, ev.data.get("report_id")) or first)
    return rated


def _round(session: Session, case: Case) -> tuple[list[Report], set[str]]:
    reports = case_reports(session, case.id)
    return reports, rated_this_round(timeline(session, case), reports)


def already_rated(session: Session, case: Case, report_id: int | None = None) -> bool:
    """Whether the reporter of `report_id` rated this round (a rating counts for the latest round of
    handling: after a reopen and a new 反馈, rate again). Without a report: whether anyone did."""
    reports, rated = _round(session, case)
    if report_id is None:
        return bool(rated)
    return _key_of(reports, report_id) in rated


def unrated(session: Session, case: Case) -> list[Reporter]:
    """The reporters with a phone who have not rated this round: those still to ask (回访, the SMS link)."""
    reports, rated = _round(session, case)
    return [r for r in reporters(reports) if r.phone and r.key not in rated]


def can_rate(session: Session, case: Case, report_id: int | None = None) -> bool:
    return CaseStatus(case.status) in RATEABLE and not already_rated(session, case, report_id)


def record_rating(
    session: Session,
    case: Case,
    code: str,
    *,
    actor: str,
    channel: str,
    comment: str = "",
    extra: dict[str, Any] | None = None,
    source: str = "市民评价",
    report_id: int | None = None,
) -> Outcome:
    """Record a rating (a key of RATINGS) once per reporter and round of handling. 不满意 reopens a
    verified, surveyed or closed case; 满意/基本满意 on a verified case is its 回访 when no other reporter
    phone is left to rate this round. `report_id`: the report of the reporter who rates (None: the first
    reporter). `source` starts the timeline's reason (市民评价, 回访). Caller commits, and checks first
    that whoever rates is a reporter of the case."""
    if CaseStatus(case.status) not in RATEABLE:
        return "not_rateable"
    reports, rated = _round(session, case)
    everyone = reporters(reports)
    key = _key_of(reports, report_id) or next((r.key for r in everyone if r.phone), None)
    if (key in rated) if key is not None else bool(rated):
        return "already_rated"
    label = RATINGS[code]
    comment = comment.strip()[:500]
    data = {"rating": label, "rating_code": code, "comment": comment, "channel": channel, **(extra or {})}
    if report_id is not None:
        data["report_id"] = report_id
    status = CaseStatus(case.status)
    if code == "unsatisfied":
        if status in REOPENABLE:
            apply_action(
                session, case, Action.REOPEN, actor, reason=f"{source}不满意：{comment}".rstrip("："), data=data
            )
            return "reopened"
        apply_action(session, case, Action.NOTE, actor, reason=f"{source}不满意（待核实）", data=data)
        return "noted_for_verifier"
    waiting = [r for r in everyone if r.phone and r.key not in rated and r.key != key]
    if status == CaseStatus.VERIFIED and not waiting:
        apply_action(session, case, Action.SURVEY, actor, reason=f"{source}：{label}", data=data)
        return "surveyed"
    if status == CaseStatus.VERIFIED:  # 一事多诉: the 回访 is done when every reporter has been heard
        reason = f"{source}：{label}（另有 {len(waiting)} 位反映人待回访）"
        apply_action(session, case, Action.NOTE, actor, reason=reason, data=data)
        return "noted"
    apply_action(session, case, Action.NOTE, actor, reason=f"{source}：{label}", data=data)
    return "noted"
