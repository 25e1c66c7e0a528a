"""The resident's rating of a handled case (满意 / 基本满意 / 不满意): one use case for every channel (the
track page, the survey call, the console's callback form), so a rating means the same wherever it was
given (tests/unit/test_rating_channels.py runs one rating through each channel for every status).

The rule, once per round of handling (a new 反馈 after a reopen may be rated again):
- only a case in 反馈 (handled), 核实 (verified), 回访 (surveyed) or 结案 (closed) can be rated;
- 不满意 reopens a verified, surveyed or closed case; on a handled case it is a note for the verifier,
  who sees the complaint before deciding (核实 or 核实未通过) — so it never skips 核实;
- 满意 / 基本满意 on a verified case is its 回访 (→ surveyed); on any other rateable case, a note.
"""

from __future__ import annotations

from typing import Any, Literal

from sqlmodel import Session

from cases.lifecycle import Action, CaseStatus
from cases.models import Case
from cases.service import apply_action, timeline

RATINGS: dict[str, str] = {"satisfied": "满意", "basic": "基本满意", "unsatisfied": "不满意"}
RATEABLE = frozenset({CaseStatus.HANDLED, CaseStatus.VERIFIED, CaseStatus.SURVEYED, CaseStatus.CLOSED})
# 不满意 before 核实 does not reopen: the verifier sees the complaint before deciding.
REOPENABLE = frozenset({CaseStatus.VERIFIED, CaseStatus.SURVEYED, CaseStatus.CLOSED})

Outcome = Literal["reopened", "noted_for_verifier", "surveyed", "noted", "already_rated", "not_rateable"]


def already_rated(session: Session, case: Case) -> bool:
    """A rating counts for the latest round of handling: after a reopen and a new 反馈, rate again."""
    rated = False
    for ev in timeline(session, case):
        if ev.action == Action.HANDLE.value:
            rated = False
        elif ev.data.get("rating"):
            rated = True
    return rated


def can_rate(session: Session, case: Case) -> bool:
    return CaseStatus(case.status) in RATEABLE and not already_rated(session, case)


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
) -> Outcome:
    """Record a rating (a key of RATINGS) once per round of handling. 不满意 reopens a verified, surveyed or
    closed case; 满意/基本满意 on a verified case is its 回访. `source` starts the timeline's reason (市民评价,
    回访). Caller commits, and checks first that whoever rates is the reporter."""
    if CaseStatus(case.status) not in RATEABLE:
        return "not_rateable"
    if already_rated(session, case):
        return "already_rated"
    label = RATINGS[code]
    comment = comment.strip()[:500]
    data = {"rating": label, "rating_code": code, "comment": comment, "channel": channel, **(extra or {})}
    status = CaseStatus(case.status)
    if code == "unsatisfied":
        if status in REOPENABLE:
            apply_action(
                session, case, Action.REOPEN, actor, reason=f"{source}不满意：{comment}".rstrip("："), data=data
            )
            return "reopened"
        apply_action(session, case, Action.NOTE, actor, reason=f"{source}不满意（待核实）", data=data)
        return "noted_for_verifier"
    if status == CaseStatus.VERIFIED:
        apply_action(session, case, Action.SURVEY, actor, reason=f"{source}：{label}", data=data)
        return "surveyed"
    apply_action(session, case, Action.NOTE, actor, reason=f"{source}：{label}", data=data)
    return "noted"
