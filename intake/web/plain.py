"""A case's timeline in plain words for residents: internal steps hidden, departments named, times local."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session

from cases.lifecycle import LABELS_ZH, CaseStatus
from cases.models import Case, CaseEvent, Department
from cases.service import timeline
from cases.settings import get_settings

# What each action means to the person who reported. Actions not listed (classify, note…) are internal.
SENTENCES: dict[str, str] = {
    "open": "您的反映已收到",
    "register": "已立案",
    "hold_for_agent": "正在由热线坐席核实",
    "dispatch": "已派遣至{dept}处理",
    "accept": "{dept}已开始处置",
    "return": "承办单位申请退回，正在重新派遣",
    "handle": "{dept}反馈已处置完毕",
    "verify": "处置结果已核实",
    "verify_fail": "核实未通过，已要求继续处置",
    "survey": "已收到您的评价",
    "rating": "已收到您的评价",
    "close": "已结案",
    "reopen": "已重新办理",
    "reject": "不予立案",
    "merge": "与同一问题的其他反映合并办理",
    "link_report": "收到同一问题的其他反映，一并办理",
    "escalate": "已督办",
    "extend": "处置期限已延长",
}


@dataclass(frozen=True)
class Step:
    at: str
    text: str
    detail: str | None = None


def local(dt: datetime | None) -> str:
    if dt is None:
        return ""
    return dt.astimezone(ZoneInfo(get_settings().timezone)).strftime("%Y-%m-%d %H:%M")


def status_label(case: Case) -> str:
    return LABELS_ZH[CaseStatus(case.status)]


def _dept_name(session: Session, code: str | None) -> str:
    if not code:
        return "承办单位"
    dept = session.get(Department, code)
    return dept.name if dept else "承办单位"


def plain_steps(session: Session, case: Case) -> list[Step]:
    steps: list[Step] = []
    for ev in timeline(session, case):
        action = "rating" if ev.data.get("rating") else ev.action
        sentence = SENTENCES.get(action)
        if sentence is None:
            continue
        dept = _dept_name(session, ev.data.get("department_code") or case.department_code)
        detail = None
        if action == "dispatch" and ev.data.get("handle_deadline"):
            detail = "要求在 " + local(datetime.fromisoformat(ev.data["handle_deadline"])) + " 前处置完毕"
        elif action in ("reject", "reopen") and ev.reason:
            detail = ev.reason
        elif action == "rating":
            detail = f"{ev.data['rating']}" + (f"：{ev.data['comment']}" if ev.data.get("comment") else "")
        steps.append(Step(local(ev.at), sentence.format(dept=dept), detail))
    return steps


def last_event(session: Session, case: Case) -> CaseEvent | None:
    events = timeline(session, case)
    return events[-1] if events else None
