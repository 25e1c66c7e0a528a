"""The parts of a call flow that touch the case kernel and the classifier. The YAML names them; the flow
engine calls them with the call's context and what the caller did, and follows the outcome they return."""

from __future__ import annotations

import logging
from typing import Any

from sqlmodel import select

from cases.db import session_scope
from cases.jobs import enqueue_now, resolve
from cases.lifecycle import LABELS_ZH, TERMINAL, Action, CaseStatus, IllegalTransition, next_status
from cases.models import Case, Report
from cases.phone import InvalidPhone, normalize_phone
from cases.service import apply_action, get_case_by_number, record_event
from cases.settings import get_settings
from classifiers import registry
from classifiers.base import ReportFacts
from intake.core import PIPELINE_JOB, accept, find_report
from intake.schemas import ReportIn
from intake.telephony import outbound, reference
from intake.telephony.hours import agents_on_duty
from ivr_flows.engine import RETRY, WAITING, Handler, Turn
from ivr_flows.speech import case_number_from_keys, digits_zh

log = logging.getLogger(__name__)

ACTOR = "system:ivr"


def _vars(ctx: dict[str, Any]) -> dict[str, Any]:
    v: dict[str, Any] = ctx.setdefault("vars", {})
    return v


def _phone(ctx: dict[str, Any]) -> str | None:
    raw = ctx.get("call", {}).get("from")
    try:
        return normalize_phone(raw)
    except InvalidPhone:
        return None  # withheld or foreign number: the report is still taken, anonymously


def agent_hours(ctx: dict[str, Any], turn: Turn | None) -> str:
    return "open" if agents_on_duty() else "closed"


def classify(ctx: dict[str, Any], turn: Turn | None) -> str:
    """Classify what the caller said, during the call, and prepare the read-back."""
    text = (turn.speech if turn else "") or ""
    c = registry.get_classifier().classify(ReportFacts(text=text, phone=_phone(ctx)))
    v = _vars(ctx)
    v["report_text"] = text
    v["speech_confidence"] = turn.confidence if turn else None
    if c.category_code is None:
        return RETRY  # nothing we can read back: ask again, then an agent
    place = reference.place_in(text, c.grid_code)
    v.update(
        category_code=c.category_code,
        category=reference.category_names().get(c.category_code, "城市管理"),
        grid_code=c.grid_code,
        place=place or "",
        place_phrase=f"{place}附近的" if place else "",
        classification={
            "category_code": c.category_code,
            "category_confidence": c.category_confidence,
            "grid_code": c.grid_code,
            "grid_confidence": c.grid_confidence,
            "model_version": c.model_version,
        },
    )
    return "understood"


def submit_report(ctx: dict[str, Any], turn: Turn | None) -> str:
    """The caller confirmed: store the report (the pipeline job opens the case) and SMS the number when
    it exists. Returns at once; the flow's poll step reads the number out when the case is there."""
    v = _vars(ctx)
    call = ctx.get("call", {})
    report_in = ReportIn(
        channel="voice",
        external_id=call["sid"],
        text=v.get("report_text", ""),
        phone=_phone(ctx),
        raw={"call_sid": call["sid"], "speech_confidence": v.get("speech_confidence"),
             "in_call_classification": v.get("classification")},
        hints={"category_code": v["category_code"], "caller_confirmed": True},
    )
    with session_scope() as s:
        report = accept(s, report_in).report
        report_id = report.id
    assert report_id is not None
    v["report_id"] = report_id
    enqueue_now(outbound.SEND_CASE_NUMBER, report_id)
    return "numbered" if _case_number(ctx, report_id) else "stored"


def _case_number(ctx: dict[str, Any], report_id: int) -> str | None:
    with session_scope() as s:
        report = s.get(Report, report_id)
        case = s.get(Case, report.case_id) if report and report.case_id else None
        if case is None:
            return None
        v = _vars(ctx)
        v.update(case_id=case.id, case_number=case.number, case_number_spoken=digits_zh(case.number))
        return case.number


def case_ready(ctx: dict[str, Any], turn: Turn | None) -> str:
    """Poll: has the pipeline opened the case? After a few polls (no worker took the job: Redis down,
    workers busy) run the pipeline here — it is idempotent — so the caller still hears a number."""
    report_id = int(_vars(ctx)["report_id"])
    if _case_number(ctx, report_id):
        return "ready"
    if ctx.get("polls", {}).get(ctx.get("step", ""), 0) >= 3:
        try:
            resolve(PIPELINE_JOB)(report_id)
        except Exception:
            log.exception("in-call pipeline for report %s failed; the queued job will retry", report_id)
        if _case_number(ctx, report_id):
            return "ready"
    return WAITING


def lookup_case(ctx: dict[str, Any], turn: Turn | None) -> str:
    number = case_number_from_keys((turn.digits if turn else "") or "", get_settings().case_number_prefix)
    if number is None:
        return RETRY
    with session_scope() as s:
        case = get_case_by_number(s, number)
        if case is None:
            return RETRY
        v = _vars(ctx)
        v["case_number_spoken"] = digits_zh(number)
        status = CaseStatus(case.status)
        v["status_label"] = LABELS_ZH[status]
        if status in TERMINAL:
            v["deadline_text"] = "该工单已办结。" if status == CaseStatus.CLOSED else ""
        elif case.handle_deadline is not None:
            from cases.models import utcnow
            from cases.timetext import when_zh

            when = when_zh(case.handle_deadline, get_settings().timezone, utcnow())
            v["deadline_text"] = f"预计在{when}前办结。"
        else:
            v["deadline_text"] = "正在安排处理，办结时间确定后会短信通知您。"
    return "found"


def save_voicemail(ctx: dict[str, Any], turn: Turn | None) -> str:
    """A voicemail becomes a report an agent must confirm (the transcript arrives later, if at all)."""
    params = turn.params if turn else {}
    call = ctx.get("call", {})
    recording = params.get("RecordingUrl")
    text = _vars(ctx).get("report_text", "")
    report_in = ReportIn(
        channel="voice",
        external_id=f"{call['sid']}:voicemail",
        text=text,
        phone=_phone(ctx),
        attachments=[recording] if recording else [],
        raw={"call_sid": call["sid"], "recording_url": recording,
             "recording_duration": params.get("RecordingDuration"), "voicemail": True},
        hints={"needs_review": True, "voicemail": True},
    )
    with session_scope() as s:
        _vars(ctx)["report_id"] = accept(s, report_in).report.id
    return "saved"


def add_transcription(call_sid: str, text: str, status: str | None) -> bool:
    """Twilio's transcription callback: the voicemail's words join its report (and the case's timeline)."""
    with session_scope() as s:
        report = find_report(s, "voice", f"{call_sid}:voicemail")
        if report is None:
            return False
        if text and text not in report.text:
            report.text = (report.text + "\n" + text).strip()
            report.raw = {**report.raw, "transcription_status": status}
            s.add(report)
            if report.case_id and (case := s.get(Case, report.case_id)) is not None:
                record_event(s, case, Action.NOTE, ACTOR, reason="留言转写", data={"transcript": text})
        s.commit()
    return True


# --- survey (outbound) ------------------------------------------------------------------------------


def _survey_case(ctx: dict[str, Any]) -> int | None:
    cid = _vars(ctx).get("case_id")
    return int(cid) if cid is not None else None


def survey_score(ctx: dict[str, Any], turn: Turn | None) -> str:
    digit = ((turn.digits if turn else "") or "")[:1]
    labels = {"1": "满意", "2": "基本满意", "3": "不满意"}
    if digit not in labels:
        return RETRY
    case_id = _survey_case(ctx)
    _vars(ctx)["score"] = digit
    with session_scope() as s:
        case = s.get(Case, case_id) if case_id else None
        if case is not None:
            data = {"rating": labels[digit], "score": int(digit), "channel": "voice_survey"}
            if digit == "3":
                _reopen_or_note(s, case, data)
            else:
                _survey_or_note(s, case, data)
            s.commit()
    return "unsatisfied" if digit == "3" else "satisfied"


def _survey_or_note(s: Any, case: Case, data: dict[str, Any]) -> None:
    try:
        next_status(case.status, Action.SURVEY)
        apply_action(s, case, Action.SURVEY, ACTOR, reason=f"回访：{data['rating']}", data=data)
    except IllegalTransition:
        record_event(s, case, Action.NOTE, ACTOR, reason=f"回访：{data['rating']}", data=data)


def _reopen_or_note(s: Any, case: Case, data: dict[str, Any]) -> None:
    # Hook the routing issue deepens (who gets a reopened case); here it is reopened and noted.
    try:
        apply_action(s, case, Action.REOPEN, ACTOR, reason="回访不满意", data=data)
    except IllegalTransition:
        record_event(s, case, Action.NOTE, ACTOR, reason="回访不满意（当前状态不可重开）", data=data)


def survey_comment(ctx: dict[str, Any], turn: Turn | None) -> str:
    text = ((turn.speech if turn else "") or "").strip()
    if not text:
        return RETRY
    case_id = _survey_case(ctx)
    with session_scope() as s:
        case = s.get(Case, case_id) if case_id else None
        if case is not None:
            record_event(s, case, Action.NOTE, ACTOR, reason="回访意见", data={"comment": text})
            s.commit()
    return "saved"


def survey_link_sms(ctx: dict[str, Any], turn: Turn | None) -> str:
    case_id = _survey_case(ctx)
    if case_id is not None:
        outbound.queue_survey_link(case_id)
    return "sent"


def init_survey(ctx: dict[str, Any], case_id: int) -> None:
    with session_scope() as s:
        case = s.get(Case, case_id)
        if case is None:
            return
        _vars(ctx).update(
            case_id=case.id,
            case_number=case.number,
            case_number_spoken=digits_zh(case.number),
            category=reference.category_names().get(case.category_code or "", "城市管理"),
        )


def resident_phone(case_id: int) -> str | None:
    with session_scope() as s:
        phones = s.exec(select(Report.phone).where(Report.case_id == case_id)).all()
    return next((p for p in phones if p), None)


HANDLERS: dict[str, Handler] = {
    "agent_hours": agent_hours,
    "classify": classify,
    "submit_report": submit_report,
    "case_ready": case_ready,
    "lookup_case": lookup_case,
    "save_voicemail": save_voicemail,
    "survey_score": survey_score,
    "survey_comment": survey_comment,
    "survey_link_sms": survey_link_sms,
}
