"""An SMS to a department's contact (派遣, 预警, 催办, 督办), for routing's department notices (and to a
supervisor, for routing's hotspot alerts: the same path, purpose `hotspot`).

Routing owns the notice (who, what, attempts, failed) and may not import telephony; it runs this function
by name (JobName.SEND_DEPARTMENT_SMS, through `cases.jobs.run_now`, in its own job — never enqueued, so
the number is never a queued job's argument). Here the text becomes an `OutboundMessage` (purpose
`department_notice`, the notice's key as `dedupe_key`), sent at once through the Twilio REST client:
a notice asked again after Twilio took it is not sent twice. Quiet hours do not apply: a duty contact is
told when the ladder says so. Errors are raised (routing counts the attempt and retries) with messages
that hold no phone number.
"""

from __future__ import annotations

import logging

from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from cases.db import session_scope
from cases.logcontext import bind_ids
from cases.models import utcnow
from cases.phone import mask_phone
from intake.telephony.models import OutboundMessage, SmsOptOut
from intake.telephony.outbound import _url
from intake.telephony.rest import credentials_missing, get_client, with_retries
from intake.telephony.settings import telephony_settings
from intake.telephony.states import OutboundKind, OutboundStatus

log = logging.getLogger(__name__)

PURPOSE = "department_notice"
_DONE = (OutboundStatus.SENT.value, OutboundStatus.DELIVERED.value)


class DepartmentSmsError(RuntimeError):
    """The SMS was not sent. `permanent`: trying again will not help (not configured, opted out)."""

    safe_message = True  # the text names no phone number: routing may store and log it

    def __init__(self, message: str, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


def _masked(text: str, phone: str) -> str:
    """`text` with the number (E.164 and national form) masked: Twilio's errors may quote it."""
    masked = mask_phone(phone) or "****"
    national = phone[3:] if phone.startswith("+86") else phone
    return text.replace(phone, masked).replace(national, masked)


def _message(dedupe_key: str, to: str, body: str, case_id: int | None, purpose: str) -> tuple[int, str | None]:
    """The message row of this notice (made once): its id, and Twilio's sid when it was sent already."""
    with session_scope() as s:
        om = s.exec(select(OutboundMessage).where(OutboundMessage.dedupe_key == dedupe_key)).first()
        if om is None:
            om = OutboundMessage(
                dedupe_key=dedupe_key,
                kind=OutboundKind.SMS,
                purpose=purpose,
                to_phone=to,
                body=body,
                case_id=case_id,
                status=OutboundStatus.QUEUED,
            )
            try:
                with s.begin_nested():
                    s.add(om)
            except IntegrityError:  # another run of the same notice made it meanwhile
                raise DepartmentSmsError("同一通知正在发送，稍后重试") from None
        elif om.status not in _DONE:
            om.to_phone, om.body = to, body  # an admin may have corrected the number before a retry
            s.add(om)
        assert om.id is not None
        return om.id, (om.twilio_sid if om.status in _DONE else None)


def _check_sendable(to: str) -> None:
    reason = credentials_missing()
    if reason:
        raise DepartmentSmsError(f"短信未发送：{reason}", permanent=True)
    with session_scope() as s:
        if s.get(SmsOptOut, to) is not None:
            raise DepartmentSmsError("短信未发送：该号码已退订短信", permanent=True)


def send_department_sms(dedupe_key: str, to: str, body: str, case_id: int | None = None, purpose: str = PURPOSE) -> str:
    """Send `body` to `to` now; returns Twilio's message sid (the earlier one when this key was sent
    already). Raises DepartmentSmsError when it was not sent. `purpose`: what the message row records
    (a department's notice; a supervisors' hotspot alert, `hotspot`)."""
    bind_ids(case_id=case_id)
    om_id, sid = _message(dedupe_key, to, body, case_id, purpose)
    if sid:
        return sid
    _check_sendable(to)
    settings = telephony_settings()

    def send() -> str:
        msg = get_client().messages.create(
            to=to, from_=settings.twilio_from_number, body=body, status_callback=_url("/twilio/sms/status", om=om_id)
        )
        return str(msg.sid)

    new_sid, error, attempts = with_retries(send)
    with session_scope() as s:
        row = s.get(OutboundMessage, om_id)
        assert row is not None
        row.attempts += attempts
        row.twilio_sid, row.last_error = new_sid, error
        row.status = OutboundStatus.SENT if new_sid else OutboundStatus.FAILED
        row.sent_at = utcnow() if new_sid else None
        s.add(row)
    if new_sid is None:
        why = _masked(error or "unknown error", to)
        log.warning("department SMS %s to %s not sent: %s", om_id, mask_phone(to), why)
        raise DepartmentSmsError(f"短信发送失败：{why}")
    return new_sid
