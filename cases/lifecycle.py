"""The case lifecycle as one table: (status, action) -> next status. Pure; no I/O.

上报 → 立案 → 派遣 → 处置 → 反馈 → 核实 → 评价/回访 → 结案, with 退单 (return), 重开 (reopen),
合并 (merge) and 不予立案 (reject). Actions that do not move the case (督办 escalate, 延期 extend,
备注 note) are in the table too, mapping a status to itself, so "is this allowed now?" has one answer.
"""

from __future__ import annotations

from enum import StrEnum


class CaseStatus(StrEnum):
    REPORTED = "reported"  # 上报
    REGISTERED = "registered"  # 立案
    REJECTED = "rejected"  # 不予立案
    DISPATCHED = "dispatched"  # 派遣
    IN_PROGRESS = "in_progress"  # 处置
    RETURNED = "returned"  # 退单
    HANDLED = "handled"  # 反馈
    VERIFIED = "verified"  # 核实
    SURVEYED = "surveyed"  # 回访/评价
    CLOSED = "closed"  # 结案
    REOPENED = "reopened"  # 重开
    MERGED = "merged"  # 合并


class Action(StrEnum):
    REGISTER = "register"  # 立案
    REJECT = "reject"  # 不予立案
    DISPATCH = "dispatch"  # 派遣 (also re-dispatch after 退单 or 重开)
    ACCEPT = "accept"  # department starts work (处置)
    RETURN = "return"  # 退单: department sends it back
    HANDLE = "handle"  # 反馈: department reports it done
    VERIFY = "verify"  # 核实 passed
    VERIFY_FAIL = "verify_fail"  # 核实 failed: back to the department
    SURVEY = "survey"  # 回访/评价 recorded (satisfied)
    CLOSE = "close"  # 结案
    REOPEN = "reopen"  # 重开: resident unsatisfied, or closed in error
    MERGE = "merge"  # 合并 into another case
    ESCALATE = "escalate"  # 督办 (a supervisor, or the ladder's yellow / red card)
    URGE = "urge"  # 催办: the department is reminded (the ladder at 100 %, or a person)
    EXTEND = "extend"  # 延期 granted (a supervisor approved the request, or an agent granted it)
    REQUEST_EXTENSION = "request_extension"  # 申请延期: the department asks; its clock waits for the answer
    REFUSE_EXTENSION = "refuse_extension"  # 驳回延期: the clock resumes with the time it had left
    REQUEST_INFO = "request_info"  # 补充材料: waiting on the resident; the clock pauses
    RESUME = "resume"  # 材料已补充: the clock resumes with the time it had left
    RULE = "rule"  # 审定: a supervisor's binding ruling on a case returned twice (→ the department named)
    REASSIGN = "reassign"  # 改派: a supervisor moves a case a department holds to another one (签收 again)
    CHECK = "check"  # 核查属实: a grid worker found the reported problem on site before 立案
    NOTE = "note"  # remark, no status change


S, A = CaseStatus, Action

_OPEN_WORK = (S.DISPATCHED, S.IN_PROGRESS, S.RETURNED, S.REOPENED)
# Statuses in which a department holds the case and a clock of its runs (签收, 办结, or 核实 after 反馈).
_DEPARTMENT_HOLDS = (S.DISPATCHED, S.IN_PROGRESS, S.HANDLED)

TRANSITIONS: dict[tuple[CaseStatus, Action], CaseStatus] = {
    (S.REPORTED, A.REGISTER): S.REGISTERED,
    (S.REPORTED, A.REJECT): S.REJECTED,
    (S.REPORTED, A.MERGE): S.MERGED,
    (S.REPORTED, A.CHECK): S.REGISTERED,  # 核查 before 立案 found the problem on site
    (S.REGISTERED, A.DISPATCH): S.DISPATCHED,
    (S.REGISTERED, A.REJECT): S.REJECTED,
    (S.REGISTERED, A.MERGE): S.MERGED,
    (S.DISPATCHED, A.ACCEPT): S.IN_PROGRESS,
    (S.DISPATCHED, A.RETURN): S.RETURNED,
    (S.DISPATCHED, A.HANDLE): S.HANDLED,
    (S.DISPATCHED, A.REASSIGN): S.DISPATCHED,  # 改派 before 签收: the new department signs for it
    (S.IN_PROGRESS, A.RETURN): S.RETURNED,
    (S.IN_PROGRESS, A.HANDLE): S.HANDLED,
    (S.IN_PROGRESS, A.REASSIGN): S.DISPATCHED,  # 改派 after 签收: back to 派遣 for the new department
    (S.RETURNED, A.DISPATCH): S.DISPATCHED,
    (S.RETURNED, A.REJECT): S.REJECTED,
    (S.RETURNED, A.RULE): S.DISPATCHED,  # 审定: binding, the department named cannot return it again
    (S.HANDLED, A.VERIFY): S.VERIFIED,
    (S.HANDLED, A.VERIFY_FAIL): S.IN_PROGRESS,
    (S.HANDLED, A.REOPEN): S.REOPENED,  # the resident says it is not fixed before anyone verified it
    (S.VERIFIED, A.SURVEY): S.SURVEYED,
    (S.VERIFIED, A.CLOSE): S.CLOSED,  # no callback possible (anonymous report)
    (S.VERIFIED, A.REOPEN): S.REOPENED,  # survey came back unsatisfied
    (S.SURVEYED, A.CLOSE): S.CLOSED,
    (S.SURVEYED, A.REOPEN): S.REOPENED,
    (S.CLOSED, A.REOPEN): S.REOPENED,
    (S.REOPENED, A.DISPATCH): S.DISPATCHED,
    **{(s, A.ESCALATE): s for s in (*_OPEN_WORK, S.HANDLED)},
    **{(s, A.URGE): s for s in _DEPARTMENT_HOLDS},
    **{(s, a): s for s in (S.DISPATCHED, S.IN_PROGRESS) for a in (A.EXTEND, A.REQUEST_EXTENSION, A.REFUSE_EXTENSION)},
    **{(s, a): s for s in (S.DISPATCHED, S.IN_PROGRESS) for a in (A.REQUEST_INFO, A.RESUME)},
    **{(s, A.NOTE): s for s in CaseStatus},
}

TERMINAL: frozenset[CaseStatus] = frozenset({S.CLOSED, S.REJECTED, S.MERGED})

LABELS_ZH: dict[CaseStatus, str] = {
    S.REPORTED: "已上报",
    S.REGISTERED: "已立案",
    S.REJECTED: "不予立案",
    S.DISPATCHED: "已派遣",
    S.IN_PROGRESS: "处置中",
    S.RETURNED: "已退单",
    S.HANDLED: "已处置反馈",
    S.VERIFIED: "已核实",
    S.SURVEYED: "已回访",
    S.CLOSED: "已结案",
    S.REOPENED: "已重开",
    S.MERGED: "已合并",
}


class IllegalTransition(Exception):
    """The action is not allowed in the case's current status."""

    def __init__(self, status: CaseStatus, action: Action) -> None:
        allowed = sorted(a.value for (s, a) in TRANSITIONS if s == status)
        super().__init__(
            f"action {action.value!r} is not allowed on a case in status {status.value!r} "
            f"(allowed: {', '.join(allowed) or 'none'})"
        )
        self.status = status
        self.action = action


def next_status(status: CaseStatus | str, action: Action | str) -> CaseStatus:
    """The status after `action`, or IllegalTransition. Unknown names raise ValueError."""
    s, a = CaseStatus(status), Action(action)
    try:
        return TRANSITIONS[(s, a)]
    except KeyError:
        raise IllegalTransition(s, a) from None


def allowed_actions(status: CaseStatus | str) -> list[Action]:
    s = CaseStatus(status)
    return [a for (st, a) in TRANSITIONS if st == s]


# Actions a person must give a reason for: each one refuses, undoes or overrides somebody's work, and the
# audit trail (and whoever picks the case up next) needs the why. Checked where a person types it (the
# console's forms); the machine's own moves name their rule instead.
REASON_REQUIRED: frozenset[Action] = frozenset(
    {
        A.REJECT,
        A.RETURN,
        A.REOPEN,
        A.VERIFY_FAIL,
        A.ESCALATE,
        A.URGE,
        A.EXTEND,
        A.REQUEST_EXTENSION,
        A.REFUSE_EXTENSION,
        A.REQUEST_INFO,
        A.RULE,
        A.REASSIGN,
        A.MERGE,
        A.NOTE,
    }
)

ACTION_LABELS_ZH: dict[Action, str] = {
    A.REGISTER: "立案",
    A.REJECT: "不予立案",
    A.DISPATCH: "派遣",
    A.ACCEPT: "签收",
    A.RETURN: "退单",
    A.HANDLE: "处置反馈",
    A.VERIFY: "核实通过",
    A.VERIFY_FAIL: "核实不通过",
    A.SURVEY: "回访",
    A.CLOSE: "结案",
    A.REOPEN: "重开",
    A.MERGE: "合并",
    A.ESCALATE: "督办",
    A.URGE: "催办",
    A.EXTEND: "延期",
    A.REQUEST_EXTENSION: "申请延期",
    A.REFUSE_EXTENSION: "驳回延期",
    A.REQUEST_INFO: "补充材料",
    A.RESUME: "材料已补充",
    A.RULE: "审定",
    A.REASSIGN: "改派",
    A.CHECK: "核查属实",
    A.NOTE: "备注",
}


def reason_missing(action: Action | str, reason: str | None) -> bool:
    """True when `action` needs a reason and `reason` is empty or blank."""
    return Action(action) in REASON_REQUIRED and not (reason or "").strip()
