"""Read models of one case, shared by every channel and the console: its detail, its timeline in plain
words for the resident, and its reporters' phones. Reads only: nothing here changes a row."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from cases.lifecycle import LABELS_ZH, CaseStatus
from cases.models import Case, CaseEvent, Report
from cases.reference import reference_names
from cases.service import get_case_by_number, timeline
from cases.settings import kernel_settings
from cases.texts import handle_by_plain

# What each action means to the person who reported. Actions not listed (classify, note…) are internal.
SENTENCES: dict[str, str] = {
    "open": "您的反映已收到",
    "register": "已立案",
    "hold_for_agent": "正在由热线坐席核实",
    "check_requested": "正在安排网格员现场核查",
    "check": "网格员现场核查属实",
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
class CaseDetail:
    """A case with the names of what it refers to, its reports (oldest first) and its events."""

    case: Case
    category_name: str | None
    grid_name: str | None
    department_name: str | None
    reports: list[Report]
    events: list[CaseEvent]


def case_detail(session: Session, case: Case) -> CaseDetail:
    names = reference_names()
    return CaseDetail(
        case=case,
        category_name=names.category(case.category_code),
        grid_name=names.grid(case.grid_code),
        department_name=names.department(case.department_code),
        reports=case_reports(session, case.id),
        events=timeline(session, case),
    )


def case_reports(session: Session, case_id: int | None) -> list[Report]:
    return list(session.exec(select(Report).where(Report.case_id == case_id).order_by(col(Report.id))))


# --- the reporter -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reporter:
    """Someone who reported the case: a phone (its first report on the case), or a report without one."""

    key: str  # the phone, or "report:<id>"
    report_id: int
    phone: str | None


def reporters(reports: Iterable[Report]) -> list[Reporter]:
    """The case's reporters in the order they first reported, each phone once (reports oldest first)."""
    found: dict[str, Reporter] = {}
    for r in reports:
        if r.id is None:
            continue
        key = r.phone or f"report:{r.id}"
        found.setdefault(key, Reporter(key, r.id, r.phone))
    return list(found.values())


def phoned_reporters(session: Session, case_id: int) -> list[Reporter]:
    """The reporters we can text or call about the case (一事多诉: merged and linked reports keep theirs),
    each phone once, first reporter first."""
    return [r for r in reporters(case_reports(session, case_id)) if r.phone]


def reporter_phones(session: Session, case_id: int) -> list[str]:
    """The phones the case was reported from, first report first, each once."""
    phones = session.exec(select(Report.phone).where(Report.case_id == case_id).order_by(col(Report.id))).all()
    return list(dict.fromkeys(p for p in phones if p))


def reporter_phone(session: Session, case_id: int) -> str | None:
    """The phone we call or text about the case: the first reporter's."""
    return next(iter(reporter_phones(session, case_id)), None)


def reporters_report(session: Session, case: Case, phone: str | None) -> Report | None:
    """The report `phone` (E.164) made on this case, if any: proof that whoever has that phone reported it."""
    if not phone:
        return None
    return session.exec(
        select(Report).where(Report.case_id == case.id, Report.phone == phone).order_by(col(Report.id))
    ).first()


def reporters_case(session: Session, number: str, phone: str | None) -> Case | None:
    """The case with this number if `phone` (E.164) reported to it, else None. Numbers are sequential, so
    a case is told only to whoever reported it, on the channels that know the caller's number (SMS, phone)."""
    case = get_case_by_number(session, number)
    if case is None or reporters_report(session, case, phone) is None:
        return None
    return case


# --- the timeline in plain words --------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    at: str
    text: str
    detail: str | None = None


def local(dt: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored (UTC) time as the city reads it, in HOTLINE_TIMEZONE; "" for none."""
    if dt is None:
        return ""
    return dt.astimezone(ZoneInfo(kernel_settings().timezone)).strftime(fmt)


def status_label(case: Case) -> str:
    return LABELS_ZH[CaseStatus(case.status)]


def _dept_name(code: str | None) -> str:
    if not code:
        return "承办单位"
    return reference_names().department(code) or "承办单位"


def plain_steps(session: Session, case: Case) -> list[Step]:
    """The timeline as the reporter reads it: internal steps left out, departments named, times local."""
    steps: list[Step] = []
    for ev in timeline(session, case):
        action = "rating" if ev.data.get("rating") else ev.action
        sentence = SENTENCES.get(action)
        if sentence is None:
            continue
        dept = _dept_name(ev.data.get("department_code") or case.department_code)
        detail = None
        if action == "dispatch" and ev.data.get("handle_deadline"):
            detail = handle_by_plain(local(datetime.fromisoformat(ev.data["handle_deadline"])))
        elif action in ("reject", "reopen") and ev.reason:
            detail = ev.reason
        elif action == "rating":
            detail = f"{ev.data['rating']}" + (f"：{ev.data['comment']}" if ev.data.get("comment") else "")
        steps.append(Step(local(ev.at), sentence.format(dept=dept), detail))
    return steps
