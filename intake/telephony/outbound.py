"""Outbound SMS and calls through the Twilio REST client, as jobs (named in `cases.jobnames`, taking ids).

Every message is first a row (`OutboundMessage`, unique `dedupe_key`: each notice happens once, however
often it is asked for), then a job sends it: credentials missing → a clear log line and nothing sent;
opted out → not sent; quiet hours → deferred (`flush_due` sends it later); transient Twilio errors
(429, 5xx, network) → retried with back-off.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from cases.db import session_scope
from cases.jobnames import JobName
from cases.jobs import enqueue_after_commit, enqueue_now, run_now
from cases.lifecycle import Action, CaseStatus
from cases.logcontext import bind_ids, job_ids
from cases.models import Case, CaseEvent, Report, utcnow
from cases.phone import mask_phone
from cases.queries import Reporter, phoned_reporters
from cases.rating import unrated
from cases.service import get_case_by_number
from cases.settings import kernel_settings
from cases.texts import SMS_SIGNATURE, finish_by_zh
from intake.settings import intake_settings
from intake.telephony.hours import quiet_now, window_end
from intake.telephony.models import OutboundMessage, SmsOptOut
from intake.telephony.rest import credentials_missing, get_client, with_retries
from intake.telephony.settings import telephony_settings
from intake.telephony.states import OutboundKind, OutboundStatus
from intake.tracking import issue_token, track_url

log = logging.getLogger(__name__)

_SENDER = {OutboundKind.SMS: JobName.SEND_SMS, OutboundKind.CALL: JobName.PLACE_CALL}
# A send job that finds a message in one of these leaves it alone (a deferred one waits for flush_due).
DONE = (
    OutboundStatus.SENT,
    OutboundStatus.DELIVERED,
    OutboundStatus.OPTED_OUT,
    OutboundStatus.FAILED,
    OutboundStatus.SKIPPED,
    OutboundStatus.DEFERRED,
)


def _url(path: str, **query: object) -> str:
    base = intake_settings().public_base_url.rstrip("/")
    return base + path + (("?" + urlencode(query)) if query else "")


def queue_message(
    session: Session,
    *,
    kind: OutboundKind,
    purpose: str,
    to: str,
    dedupe_key: str,
    body: str = "",
    url: str | None = None,
    case_id: int | None = None,
    report_id: int | None = None,
    quiet_ok: bool = False,
    not_before: datetime | None = None,
) -> OutboundMessage:
    """Add the message (once per dedupe_key) and send it after the caller commits. `quiet_ok`: an answer
    to something the resident just did (their case number) goes out even in quiet hours. `not_before`:
    hold it until then (the periodic `flush_due` sends it)."""
    existing = session.exec(select(OutboundMessage).where(OutboundMessage.dedupe_key == dedupe_key)).first()
    if existing is not None:
        return existing
    om = OutboundMessage(
        dedupe_key=dedupe_key,
        kind=kind,
        purpose=purpose,
        to_phone=to,
        body=body,
        url=url,
        case_id=case_id,
        report_id=report_id,
        status=OutboundStatus.QUEUED if quiet_ok else OutboundStatus.PENDING,
    )
    held = not_before is not None and not_before > utcnow()
    if held:
        om.status, om.not_before = OutboundStatus.DEFERRED, not_before
    try:
        with session.begin_nested():
            session.add(om)
    except IntegrityError:  # a concurrent request queued the same notice
        found = session.exec(select(OutboundMessage).where(OutboundMessage.dedupe_key == dedupe_key)).one()
        return found
    assert om.id is not None
    if not held:
        enqueue_after_commit(session, _SENDER[kind], om.id)
    return om


def queue_sms(
    session: Session,
    *,
    purpose: str,
    to: str,
    body: str,
    dedupe_key: str,
    case_id: int | None = None,
    report_id: int | None = None,
    quiet_ok: bool = False,
) -> OutboundMessage:
    return queue_message(
        session,
        kind=OutboundKind.SMS,
        purpose=purpose,
        to=to,
        body=body,
        dedupe_key=dedupe_key,
        case_id=case_id,
        report_id=report_id,
        quiet_ok=quiet_ok,
    )


def _claim(om_id: int, kind: OutboundKind) -> OutboundMessage | None:
    """Load the message and decide whether it may go now; returns it only when it should be sent."""
    with session_scope() as s:
        om = s.get(OutboundMessage, om_id)
        if om is None or om.kind != kind or om.status in DONE:
            return None
        bind_ids(case_id=om.case_id, report_id=om.report_id)
        reason = credentials_missing()
        if reason:
            log.warning("outbound %s %s to %s not sent: %s", kind, om.purpose, mask_phone(om.to_phone), reason)
            om.status, om.last_error = OutboundStatus.SKIPPED, reason
            s.add(om)
            return None
        if kind == OutboundKind.SMS and s.get(SmsOptOut, om.to_phone) is not None:
            om.status = OutboundStatus.OPTED_OUT
            s.add(om)
            return None
        if om.status == OutboundStatus.PENDING and quiet_now():  # a notice; an immediate answer is QUEUED
            om.status, om.not_before = OutboundStatus.DEFERRED, window_end(telephony_settings().quiet_hours)
            s.add(om)
            log.info("outbound %s %s deferred to %s (quiet hours)", kind, om.purpose, om.not_before)
            return None
        s.expunge(om)
        return om


def _deliver(om: OutboundMessage, send: Callable[[], str]) -> None:
    assert om.id is not None
    sid, error, attempts = with_retries(send)
    with session_scope() as s:
        row = s.get(OutboundMessage, om.id)
        assert row is not None
        row.attempts += attempts
        row.twilio_sid = sid
        row.last_error = error
        row.status = OutboundStatus.SENT if sid else OutboundStatus.FAILED
        row.sent_at = utcnow() if sid else None
        s.add(row)
    if error:
        log.error("outbound %s %s to %s failed: %s", om.kind, om.purpose, mask_phone(om.to_phone), error)


@job_ids("om_id")
def send_sms(om_id: int) -> None:
    """Job: send one queued SMS."""
    om = _claim(om_id, OutboundKind.SMS)
    if om is None:
        return
    s = telephony_settings()

    def send() -> str:
        msg = get_client().messages.create(
            to=om.to_phone,
            from_=s.twilio_from_number,
            body=om.body,
            status_callback=_url("/twilio/sms/status", om=om.id),
        )
        return str(msg.sid)

    _deliver(om, send)


@job_ids("om_id")
def place_call(om_id: int) -> None:
    """Job: place one queued call; Twilio fetches `om.url` for its TwiML when it is answered."""
    om = _claim(om_id, OutboundKind.CALL)
    if om is None:
        return
    s = telephony_settings()

    def send() -> str:
        call = get_client().calls.create(
            to=om.to_phone,
            from_=s.twilio_from_number,
            url=om.url,
            method="POST",
            status_callback=_url("/twilio/voice/status", om=om.id),
            status_callback_method="POST",
            status_callback_event=["completed"],
            timeout=30,
        )
        return str(call.sid)

    _deliver(om, send)


def flush_due(limit: int = 200) -> int:
    """Job (periodic): send the notices deferred by quiet hours whose time has come."""
    if quiet_now():
        return 0
    with session_scope() as s:
        rows = s.exec(
            select(OutboundMessage)
            .where(OutboundMessage.status == OutboundStatus.DEFERRED, col(OutboundMessage.not_before) <= utcnow())
            .limit(limit)
        ).all()
        todo = [(r.id, OutboundKind(r.kind)) for r in rows]
        for r in rows:
            r.status = OutboundStatus.PENDING
            s.add(r)
    for om_id, kind in todo:
        enqueue_now(_SENDER[kind], om_id)
    return len(todo)


# --- what is sent ---------------------------------------------------------------------------------


@job_ids("report_id")
def send_case_number(report_id: int) -> None:
    """Job: text the reporter their case number (voice and SMS reports). Runs the pipeline for the report
    first — idempotent, a no-op when the case exists — so the number is there."""
    from intake.telephony.reference import category_names

    run_now(JobName.PROCESS_REPORT, report_id)
    with session_scope() as s:
        report = s.get(Report, report_id)
        case = s.get(Case, report.case_id) if report and report.case_id else None
        if report is None or case is None or not report.phone:
            return
        what, number = category_names().get(case.category_code or "", ""), case.number
        link = track_url(issue_token(s, report_id))  # proof for the track page that only this phone gets
        queue_sms(
            s,
            purpose="case_number",
            to=report.phone,
            dedupe_key=f"case_number:{report_id}",
            report_id=report_id,
            case_id=case.id,
            quiet_ok=True,
            body=f"{SMS_SIGNATURE}您反映的{what}问题已登记，工单号{number}。"
            f"查询进度请回复：查询 {number}，或打开 {link}",
        )


def _told(session: Session, case_id: int, purpose: str, phone: str) -> bool:
    """Whether this phone was already sent this notice about the case (whatever dedupe key it had: keys
    from before every reporter was told name the case only). The case_id index, a few rows."""
    found = session.exec(
        select(OutboundMessage.id).where(
            OutboundMessage.case_id == case_id, OutboundMessage.purpose == purpose, OutboundMessage.to_phone == phone
        )
    ).first()
    return found is not None


def _to_each(
    session: Session,
    case_id: int,
    purpose: str,
    who: Iterable[Reporter],
    message: Callable[[Reporter], str],
    *,
    kind: OutboundKind = OutboundKind.SMS,
    url: Callable[[Reporter], str] | None = None,
    not_before: datetime | None = None,
) -> list[OutboundMessage]:
    """The notice to every reporter in `who` not yet sent it: once per phone, however often asked
    (the job run twice, two workers at once: the dedupe key is per case, purpose and reporter)."""
    queued = []
    for r in who:
        if r.phone is None or _told(session, case_id, purpose, r.phone):
            continue
        queued.append(
            queue_message(
                session,
                kind=kind,
                purpose=purpose,
                to=r.phone,
                body=message(r),
                url=url(r) if url is not None else None,
                dedupe_key=f"{purpose}:{case_id}:r{r.report_id}",
                case_id=case_id,
                report_id=r.report_id,
                not_before=not_before,
            )
        )
    return queued


@job_ids("case_id")
def notify_case_status(case_id: int) -> None:
    """Job: tell every reporter of the case (一事多诉: merged and linked reports keep theirs) that it was
    dispatched, or handled; or, for a case merged into another, which case now handles their report.
    Other statuses send nothing; each (case, status) is told once per phone."""
    tz = ZoneInfo(kernel_settings().timezone)
    with session_scope() as s:
        case = s.get(Case, case_id)
        if case is None:
            return
        if case.status == CaseStatus.MERGED.value:
            _notify_merged(s, case)
            return
        if case.status == CaseStatus.DISPATCHED.value:
            due = case.handle_deadline
            when = "，" + finish_by_zh(due, tz, utcnow()) if isinstance(due, datetime) else ""
            body = f"{SMS_SIGNATURE}您的工单{case.number}已派遣至承办单位处理{when}。"
            purpose = "dispatch"
        elif case.status in (CaseStatus.HANDLED.value, CaseStatus.CLOSED.value):
            body = f"{SMS_SIGNATURE}您的工单{case.number}已处理完毕，感谢您的支持。稍后可能有回访电话。"
            purpose = "completion"
        else:
            return
        _to_each(s, case_id, purpose, phoned_reporters(s, case_id), lambda r: body)


def _notify_merged(s: Session, merged: Case) -> None:
    """The reporters of a case merged into another learn the number that now follows their report (their
    track link follows it by itself). Sent about the target case, where their reports now are."""
    event = s.exec(
        select(CaseEvent)
        .where(CaseEvent.case_id == merged.id, CaseEvent.action == Action.MERGE.value)
        .order_by(col(CaseEvent.id).desc())
    ).first()
    into = get_case_by_number(s, str(event.data.get("into") or "")) if event is not None else None
    moved = list(event.data.get("reports") or []) if event is not None else []
    if into is None or into.id is None:
        return
    ids = [i for i in moved if isinstance(i, int)]
    phones = set(s.exec(select(Report.phone).where(col(Report.id).in_(ids), Report.case_id == into.id)).all())
    who = [r for r in phoned_reporters(s, into.id) if r.phone in phones]
    body = (
        f"{SMS_SIGNATURE}您反映的问题（工单{merged.number}）与工单{into.number}是同一问题，已合并办理。"
        f"查询进度请回复：查询 {into.number}"
    )
    _to_each(s, into.id, "merged", who, lambda r: body)


@job_ids("case_id")
def start_survey_call(case_id: int) -> None:
    """Job: the automated satisfaction call after a case was handled (flow ivr_flows/flows/survey.yaml), to
    every reporter phone that has not rated this round yet; each answer is that reporter's rating."""
    with session_scope() as s:
        case = s.get(Case, case_id)
        who = unrated(s, case) if case is not None else []
        if not who:
            log.info("case %s has no reporter phone left to ask: no survey call", case_id)
            return
        # A short pause after 核实 so the resident has seen the result before we ask about it.
        delay = timedelta(minutes=telephony_settings().survey_delay_minutes)
        calls = _to_each(
            s,
            case_id,
            "survey",
            who,
            lambda r: "",
            kind=OutboundKind.CALL,
            url=lambda r: _url("/twilio/voice/survey/ask", case_id=case_id, report_id=r.report_id),
            not_before=utcnow() + delay,
        )
        log.info("survey calls %s queued for case %s", [om.id for om in calls], case_id)


@job_ids("case_id")
def queue_survey_link(case_id: int, report_id: int | None = None) -> None:
    """The survey's fallback when nobody answered (or nobody pressed a key): an SMS with the rating link,
    to every reporter phone that has not rated this round (`report_id`: only that report's reporter, whose
    survey call went unanswered). Also the job SEND_SURVEY_LINK, after the last 回访 attempt by an agent
    reached nobody. Once per phone."""
    with session_scope() as s:
        case = s.get(Case, case_id)
        if case is None:
            return
        who = unrated(s, case)
        if report_id is not None:
            phone = next((r.phone for r in phoned_reporters(s, case_id) if r.report_id == report_id), None)
            who = [r for r in who if r.phone == phone]

        def body(r: Reporter) -> str:
            link = track_url(issue_token(s, r.report_id))  # the link is the proof: it goes to this reporter only
            return f"{SMS_SIGNATURE}您的工单{case.number}已处理完毕，请您评价：{link}"

        _to_each(s, case_id, "survey_link", who, body)


def call_finished(om_id: int, call_status: str) -> None:
    """A placed call ended (status callback): unanswered surveys fall back to an SMS link."""
    with session_scope() as s:
        om = s.get(OutboundMessage, om_id)
        if om is None:
            return
        om.last_error = None if call_status == "completed" else f"call {call_status}"
        s.add(om)
        purpose, case_id, report_id = om.purpose, om.case_id, om.report_id
    if purpose == "survey" and case_id is not None and call_status in ("no-answer", "busy", "failed", "canceled"):
        queue_survey_link(case_id, report_id)


def sms_status(om_id: int, status: str, error_code: str | None) -> None:
    with session_scope() as s:
        om = s.get(OutboundMessage, om_id)
        if om is None:
            return
        if status in ("delivered", "undelivered", "failed"):
            om.status = OutboundStatus.DELIVERED if status == "delivered" else OutboundStatus.FAILED
            om.last_error = f"Twilio error {error_code}" if error_code else om.last_error
            s.add(om)
