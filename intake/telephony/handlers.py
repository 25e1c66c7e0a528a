"""The parts of a call flow that touch the case kernel and the classifier. The YAML names them; the flow
engine calls them with the call's context and what the caller did, and follows the outcome they return."""

from __future__ import annotations

import logging
from typing import Any

from sqlmodel import select

from cases.db import is_sqlite, session_scope
from cases.jobnames import JobName
from cases.jobs import enqueue_after_commit, enqueue_now, run_now
from cases.lifecycle import LABELS_ZH, TERMINAL, Action, CaseStatus
from cases.models import Case, Report, utcnow
from cases.phone import InvalidPhone, normalize_phone
from cases.queries import reporters_case
from cases.rating import record_rating
from cases.service import record_event
from cases.settings import kernel_settings
from cases.states import Channel
from cases.texts import finish_by_spoken
from classifiers.base import ReportFacts
from classifiers.serving import registry
from intake.core import accept, find_report
from intake.schemas import ReportIn
from intake.telephony import outbound, reference
from intake.telephony.hours import agents_on_duty
from intake.telephony.settings import telephony_settings
from ivr_flows.engine import RETRY, WAITING, Handler, Turn
from ivr_flows.speech import case_number_from_keys, digits_zh, has_content, may_read_back

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


_READBACK_VARS = ("category_code", "category", "grid_code", "place", "place_phrase", "classification")


def classify(ctx: dict[str, Any], turn: Turn | None) -> str:
    """Classify what the caller said, during the call, and prepare the read-back — only when it is worth
    reading back: fillers ("嗯那个就是") or a category below HOTLINE_IVR_READBACK_MIN_CONFIDENCE make the
    flow ask again (its retry prompt, then its on_fail: an agent or voicemail)."""
    text = ((turn.speech if turn else "") or "").strip()
    speech_confidence = turn.confidence if turn else None
    v = _vars(ctx)
    for key in _READBACK_VARS:  # an earlier attempt's category must not be read back for this one
        v.pop(key, None)
    if not has_content(text):
        return RETRY  # no classifier is asked about "嗯嗯": whatever it says, there is nothing to read back
    c = registry.get_classifier().classify(ReportFacts(text=text, phone=_phone(ctx)))
    # Kept even when unclear: an agent or the voicemail report sees what the caller tried to say.
    v["report_text"] = text
    v["speech_confidence"] = speech_confidence
    floor = telephony_settings().ivr_readback_min_confidence
    if not may_read_back(text, c.category_code, c.category_confidence, floor, speech_confidence):
        log.info(
            "call %s: not reading back %s (category %.2f, speech %s, floor %.2f)",
            ctx.get("call", {}).get("sid"),
            c.category_code,
            c.category_confidence,
            speech_confidence,
            floor,
        )
        return RETRY
    assert c.category_code is not None
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
        channel=Channel.VOICE,
        external_id=call["sid"],
        text=v.get("report_text", ""),
        phone=_phone(ctx),
        raw={
            "call_sid": call["sid"],
            "speech_confidence": v.get("speech_confidence"),
            "in_call_classification": v.get("classification"),
        },
        hints={"category_code": v["category_code"], "caller_confirmed": True},
    )
    with session_scope() as s:
        report = accept(s, report_in).report
        report_id = report.id
    assert report_id is not None
    v["report_id"] = report_id
    enqueue_now(JobName.SEND_CASE_NUMBER, report_id)
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
            run_now(JobName.PROCESS_REPORT, report_id)
        except Exception:
            log.exception("in-call pipeline for report %s failed; the queued job will retry", report_id)
        if _case_number(ctx, report_id):
            return "ready"
    return WAITING


def lookup_case(ctx: dict[str, Any], turn: Turn | None) -> str:
    number = case_number_from_keys((turn.digits if turn else "") or "", kernel_settings().case_number_prefix)
    if number is None:
        return RETRY
    with session_scope() as s:
        case = reporters_case(s, number, _phone(ctx))
        if case is None:  # no such case, or not this caller's: the same answer
            return RETRY
        v = _vars(ctx)
        v["case_number_spoken"] = digits_zh(number)
        status = CaseStatus(case.status)
        v["status_label"] = LABELS_ZH[status]
        if status in TERMINAL:
            v["deadline_text"] = "该工单已办结。" if status == CaseStatus.CLOSED else ""
        elif case.handle_deadline is not None:
            v["deadline_text"] = finish_by_spoken(case.handle_deadline, kernel_settings().timezone, utcnow())
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
        channel=Channel.VOICE,
        external_id=f"{call['sid']}:voicemail",
        text=text,
        phone=_phone(ctx),
        attachments=[recording] if recording else [],
        raw={
            "call_sid": call["sid"],
            "recording_url": recording,
            "recording_duration": params.get("RecordingDuration"),
            "voicemail": True,
        },
        hints={"needs_review": True, "voicemail": True},
    )
    with session_scope() as s:
        _vars(ctx)["report_id"] = accept(s, report_in).report.id
    return "saved"


MAX_TRANSCRIPT_CHARS = 4000


def add_transcription(call_sid: str, text: str, status: str | None) -> bool:
    """Twilio's transcription callback: the voicemail's words join its report, and a job brings them to
    its case (title, classification, timeline) — or finds the pipeline read them with the rest of the
    report. Safe to receive twice."""
    text = " ".join("".join(ch for ch in (text or "") if ch.isprintable()).split())[:MAX_TRANSCRIPT_CHARS]
    with session_scope() as s:
        found = find_report(s, Channel.VOICE, f"{call_sid}:voicemail")
        if found is None:
            return False
        stmt = select(Report).where(Report.id == found.id).execution_options(populate_existing=True)
        if not is_sqlite(s):
            # Waits for a pipeline run holding the row, so either it reads these words or we see its case.
            stmt = stmt.with_for_update()
        report = s.exec(stmt).one()
        raw: dict[str, Any] = {**report.raw, "transcription_status": status}
        if text:
            raw["transcript"] = text
            if text not in report.text:
                report.text = (report.text + "\n" + text).strip()
        report.raw = raw
        s.add(report)
        # Also when there is no case yet: a pipeline run that read the text before this commit (SQLite
        # takes no row lock) would otherwise open the case without these words.
        enqueue_after_commit(s, JobName.APPLY_TRANSCRIPT, report.id)
    return True


# --- survey (outbound) ------------------------------------------------------------------------------


def _survey_case(ctx: dict[str, Any]) -> int | None:
    cid = _vars(ctx).get("case_id")
    return int(cid) if cid is not None else None


def survey_score(ctx: dict[str, Any], turn: Turn | None) -> str:
    digit = ((turn.digits if turn else "") or "")[:1]
    codes = {"1": "satisfied", "2": "basic", "3": "unsatisfied"}
    if digit not in codes:
        return RETRY
    case_id = _survey_case(ctx)
    _vars(ctx)["score"] = digit
    with session_scope() as s:
        case = s.get(Case, case_id) if case_id else None
        if case is not None:
            # The same rating use case as the track page (cases.rating): one meaning on every channel.
            # The report of the reporter this call went to (一事多诉: each is asked and rates for themselves).
            rater = _vars(ctx).get("rater_report_id")
            outcome = record_rating(
                s,
                case,
                codes[digit],
                actor=ACTOR,
                channel="voice_survey",
                source="回访",
                extra={"score": int(digit)},
                report_id=rater if isinstance(rater, int) else None,
            )
            # What the call says at the end: only a rating that reopened the case may promise 重新交办.
            _vars(ctx)["reopened"] = outcome == "reopened"
    return "unsatisfied" if digit == "3" else "satisfied"


def survey_comment(ctx: dict[str, Any], turn: Turn | None) -> str:
    text = ((turn.speech if turn else "") or "").strip()
    if not text:
        return RETRY
    case_id = _survey_case(ctx)
    with session_scope() as s:
        case = s.get(Case, case_id) if case_id else None
        if case is not None:
            record_event(s, case, Action.NOTE, ACTOR, reason="回访意见", data={"comment": text})
    return "saved"


def survey_after_comment(ctx: dict[str, Any], turn: Turn | None) -> str:
    return "reopened" if _vars(ctx).get("reopened") else "noted"


def survey_link_sms(ctx: dict[str, Any], turn: Turn | None) -> str:
    case_id = _survey_case(ctx)
    if case_id is not None:
        rater = _vars(ctx).get("rater_report_id")
        outbound.queue_survey_link(case_id, rater if isinstance(rater, int) else None)
    return "sent"


def init_survey(ctx: dict[str, Any], case_id: int, report_id: int | None = None) -> None:
    """The survey call's case, and the report of the reporter it was placed to (one of the case's)."""
    with session_scope() as s:
        case = s.get(Case, case_id)
        if case is None:
            return
        report = s.get(Report, report_id) if report_id is not None else None
        _vars(ctx).update(
            rater_report_id=report.id if report is not None and report.case_id == case.id else None,
            case_id=case.id,
            case_number=case.number,
            case_number_spoken=digits_zh(case.number),
            category=reference.category_names().get(case.category_code or "", "城市管理"),
        )


HANDLERS: dict[str, Handler] = {
    "agent_hours": agent_hours,
    "classify": classify,
    "submit_report": submit_report,
    "case_ready": case_ready,
    "lookup_case": lookup_case,
    "save_voicemail": save_voicemail,
    "survey_score": survey_score,
    "survey_comment": survey_comment,
    "survey_after_comment": survey_after_comment,
    "survey_link_sms": survey_link_sms,
}
