"""Inbound SMS/MMS at POST /twilio/sms: a report, a follow-up to the sender's open report, a progress
query (查询 <工单号>), or a carrier keyword (退订/STOP, START, 帮助/HELP). The reply is TwiML <Message>."""

from __future__ import annotations

import logging
import mimetypes
import re
from datetime import timedelta
from pathlib import Path

from fastapi import APIRouter, Depends, Query, Response
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select
from twilio.twiml.messaging_response import MessagingResponse

from cases.db import session_scope
from cases.jobnames import JobName
from cases.jobs import run_now
from cases.lifecycle import LABELS_ZH, TERMINAL, Action, CaseStatus
from cases.models import Case, Report, utcnow
from cases.phone import InvalidPhone, normalize_phone
from cases.queries import reporters_case
from cases.sanitize import DB_INT_MAX
from cases.service import record_event
from cases.settings import kernel_settings
from cases.states import Channel
from cases.texts import SMS_SIGNATURE as SIGN
from cases.texts import finish_by_zh
from intake.core import accept
from intake.schemas import REPORT_TEXT_MAX, ReportIn
from intake.storage import AttachmentRejected, store_image
from intake.telephony import outbound
from intake.telephony.models import SmsMessage, SmsOptOut
from intake.telephony.rest import fetch_media
from intake.telephony.security import twilio_form
from intake.telephony.settings import telephony_settings
from intake.telephony.states import SmsKind

log = logging.getLogger(__name__)

router = APIRouter(prefix="/twilio/sms", tags=["telephony"], include_in_schema=False)

STOP_WORDS = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "退订", "TD", "取消"}
START_WORDS = {"START", "UNSTOP", "YES", "恢复", "订阅"}
HELP_WORDS = {"HELP", "INFO", "帮助"}
HELP_TEXT = (
    f"{SIGN}发送问题描述和地点即可反映城市管理问题，可附照片；回复“查询 工单号”查询进度；"
    "回复“退订”不再接收通知。紧急情况请拨打12319。"
)
QUERY = re.compile(r"^\s*(查询|查|CX)\s*[:：]?\s*(?P<number>[0-9\-\s]{10,})\s*$", re.IGNORECASE)


def _phone(raw: str | None) -> str | None:
    try:
        return normalize_phone(raw)
    except InvalidPhone:
        return None  # an alphanumeric sender id or a withheld number: taken anonymously, `From` kept in raw


def _store_media(session: Session, params: dict[str, str], sid: str) -> list[str]:
    """Fetch each MMS media item (through the Twilio client's HTTP layer) and keep it: images as cleaned
    attachments, anything else as a file under the var dir."""
    refs: list[str] = []
    num_media = params.get("NumMedia", "0")
    count = int(num_media) if num_media.isascii() and num_media.isdigit() and len(num_media) < 4 else 0
    for i in range(min(count, 10)):
        url = params.get(f"MediaUrl{i}")
        if not url:
            continue
        try:
            data, ctype = fetch_media(url)
        except Exception as exc:
            log.warning("MMS %s: media %s not fetched: %s", sid, i, exc)
            refs.append(url)  # keep the link: an agent can still open it
            continue
        if ctype.startswith("image/"):
            try:
                refs.append(store_image(session, data, channel=Channel.SMS).id)
                continue
            except AttachmentRejected as exc:
                log.info("MMS %s: media %s is not a usable image (%s); kept as a file", sid, i, exc)
        folder = Path(kernel_settings().var_dir) / "telephony" / "media"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{sid}_{i}{mimetypes.guess_extension(ctype) or '.bin'}"
        path.write_bytes(data)
        refs.append(str(path))
    return refs


def open_thread_report(session: Session, phone: str, window_minutes: int | None = None) -> Report | None:
    """The report this number texted within the window, if its case is still open (or not opened yet)."""
    minutes = telephony_settings().sms_thread_window_minutes if window_minutes is None else window_minutes
    since = utcnow() - timedelta(minutes=minutes)
    last = session.exec(
        select(SmsMessage)
        .where(
            SmsMessage.phone == phone,
            col(SmsMessage.kind).in_((SmsKind.REPORT, SmsKind.APPEND)),
            col(SmsMessage.report_id).is_not(None),
            SmsMessage.received_at >= since,
        )
        .order_by(col(SmsMessage.received_at).desc())
    ).first()
    if last is None or last.report_id is None:
        return None
    report = session.get(Report, last.report_id)
    if report is None:
        return None
    if report.case_id is not None:
        case = session.get(Case, report.case_id)
        if case is not None and CaseStatus(case.status) in TERMINAL:
            return None
    return report


def append_to_report(session: Session, report: Report, text: str, attachments: list[str], message_sid: str) -> None:
    """A follow-up text joins the report (and the case's timeline) instead of opening another case."""
    if text:
        report.text = (report.text + "\n" + text).strip()
    report.attachments = list(report.attachments) + attachments
    report.raw = {**report.raw, "appended": [*report.raw.get("appended", []), message_sid]}
    session.add(report)
    if report.case_id is not None and (case := session.get(Case, report.case_id)) is not None:
        record_event(
            session,
            case,
            Action.NOTE,
            "system:sms",
            reason="市民短信补充",
            data={"text": text, "attachments": attachments, "message_sid": message_sid},
        )


def _query_reply(session: Session, number: str, phone: str | None) -> str:
    digits = re.sub(r"\D", "", number)
    prefix = kernel_settings().case_number_prefix
    if digits.startswith(prefix):
        digits = digits[len(prefix) :]
    case = reporters_case(session, f"{prefix}-{digits[:8]}-{digits[8:]}", phone) if len(digits) == 14 else None
    if case is None:
        return f"{SIGN}没有找到工单{number.strip()}，请核对工单号。"
    label = LABELS_ZH[CaseStatus(case.status)]
    due = ""
    if case.handle_deadline is not None and CaseStatus(case.status) not in TERMINAL:
        due = "，" + finish_by_zh(case.handle_deadline, kernel_settings().timezone, utcnow())
    return f"{SIGN}工单{case.number}当前状态：{label}{due}。"


def handle_inbound(params: dict[str, str]) -> str:
    """Process one inbound message; returns the reply text ("" for none). Idempotent on MessageSid."""
    sid = params.get("MessageSid") or params.get("SmsSid") or ""
    msg = SmsMessage(message_sid=sid, phone=_phone(params.get("From")), body=(params.get("Body") or "").strip())
    with session_scope() as s:
        seen = _stored(s, sid)
        if seen is not None:
            return seen.reply  # Twilio retried: same reply, nothing new stored
        _answer(s, msg, params)
        if msg.kind != SmsKind.REPORT:
            return _store_reply(s, msg)
    # The report is committed now; the pipeline runs on it here, in its own transactions, so that the
    # reply can carry the case number.
    assert msg.report_id is not None
    return _reply_for_new_report(msg, msg.report_id)


def _stored(session: Session, sid: str) -> SmsMessage | None:
    return session.exec(select(SmsMessage).where(SmsMessage.message_sid == sid)).first()


def _answer(session: Session, msg: SmsMessage, params: dict[str, str]) -> None:
    """What the message is, and its answer (kind and reply set on `msg`): a keyword, a progress query, a
    follow-up to the sender's open report, or a new report (stored, its reply made once it has a case)."""
    word = msg.body.upper().strip("。.! ！")
    if word in STOP_WORDS and msg.phone:
        _opt_out(session, msg, msg.phone)
    elif word in START_WORDS and msg.phone:
        _opt_in(session, msg, msg.phone)
    elif word in HELP_WORDS or not (msg.body or params.get("NumMedia", "0") != "0"):
        msg.kind = SmsKind.HELP
        msg.reply = HELP_TEXT
    elif m := QUERY.match(msg.body):
        msg.kind = SmsKind.QUERY
        msg.reply = _query_reply(session, m.group("number"), msg.phone)
    else:
        _take_report(session, msg, params)


def _opt_out(session: Session, msg: SmsMessage, phone: str) -> None:
    msg.kind = SmsKind.STOP
    if session.get(SmsOptOut, phone) is None:
        session.add(SmsOptOut(phone=phone))
    msg.reply = f"{SIGN}您已退订短信通知，将不再收到工单通知。回复START可恢复。"


def _opt_in(session: Session, msg: SmsMessage, phone: str) -> None:
    msg.kind = SmsKind.START
    if (row := session.get(SmsOptOut, phone)) is not None:
        session.delete(row)
    msg.reply = f"{SIGN}已恢复短信通知。"


def _take_report(session: Session, msg: SmsMessage, params: dict[str, str]) -> None:
    """A follow-up joins the sender's open report; anything else is a new report (through intake.accept)."""
    media = _store_media(session, params, msg.message_sid)
    thread = open_thread_report(session, msg.phone) if msg.phone else None
    if thread is not None:
        msg.kind, msg.report_id = SmsKind.APPEND, thread.id
        append_to_report(session, thread, msg.body, media, msg.message_sid)
        case = session.get(Case, thread.case_id) if thread.case_id else None
        msg.reply = f"{SIGN}已补充到您的工单{case.number}。" if case else f"{SIGN}已补充到您刚才反映的问题。"
        return
    report = accept(
        session,
        ReportIn(
            channel=Channel.SMS,
            external_id=msg.message_sid,
            text=msg.body[:REPORT_TEXT_MAX],  # Twilio joins long messages; all of it stays in raw
            phone=msg.phone,
            attachments=media,
            raw=dict(params),
        ),
    ).report
    msg.report_id = report.id
    msg.kind = SmsKind.REPORT


def _store_reply(session: Session, msg: SmsMessage) -> str:
    """Keep the message with its reply (a retry gets the same one). Committed here rather than at the
    scope's end: the same message arriving twice at once is answered with what the first one stored."""
    session.add(msg)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        first = _stored(session, msg.message_sid)
        assert first is not None
        return first.reply
    return msg.reply


def _reply_for_new_report(msg: SmsMessage, report_id: int) -> str:
    number: str | None = None
    try:
        number = run_now(JobName.PROCESS_REPORT, report_id)  # open the case now: the reply carries its number
    except Exception:
        log.exception("SMS report %s: pipeline failed; the queued job retries", report_id)
    window = telephony_settings().sms_thread_window_minutes
    with session_scope() as s:
        if number is None:
            msg.reply = f"{SIGN}您反映的问题已收到，工单号生成后将短信告知。补充信息请在{window}分钟内直接回复。"
            report = s.get(Report, report_id)
            if report is not None and report.phone:
                return _reply_and_number_later(s, msg, report.phone, report_id)
        else:
            msg.reply = (
                f"{SIGN}您反映的问题已登记，工单号{number}。"
                f"{window}分钟内回复可补充说明或照片；回复“查询 {number}”查看进度。"
            )
        return _store_reply(s, msg)


def _reply_and_number_later(session: Session, msg: SmsMessage, phone: str, report_id: int) -> str:
    session.add(msg)
    # The case number follows by SMS once the queued pipeline has made it.
    outbound.queue_sms(
        session,
        purpose="case_number_later",
        to=phone,
        body=f"{SIGN}您反映的问题已登记。查询请回复：查询 工单号",
        dedupe_key=f"case_number:{report_id}",
        report_id=report_id,
        quiet_ok=True,
    )
    return msg.reply


def _messaging(reply: str) -> Response:
    r = MessagingResponse()
    if reply:
        r.message(reply)
    return Response(content=str(r), media_type="application/xml")


@router.post("")
def inbound(params: dict[str, str] = Depends(twilio_form)) -> Response:
    return _messaging(handle_inbound(params))


@router.post("/status")
def status(
    params: dict[str, str] = Depends(twilio_form), om: int | None = Query(default=None, ge=1, le=DB_INT_MAX)
) -> Response:
    if om is not None:
        outbound.sms_status(om, params.get("MessageStatus", ""), params.get("ErrorCode"))
    return Response(status_code=204)
