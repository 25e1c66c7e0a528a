"""An agent's SMS reply to the person who reported a case, from the short list of templates in
`cases.texts.SMS_REPLIES`, sent through the one outbound path (a row first, sent after commit; opt-outs and
credentials are checked again when it goes). The case's audit trail records which template, never the
phone number."""

from __future__ import annotations

from sqlmodel import Session, select

from cases.models import Case, CaseEvent
from cases.queries import reporter_phone
from cases.reference import InvalidInput
from cases.service import record_event
from cases.states import EventKind
from cases.texts import SMS_REPLIES, sms_reply
from intake.telephony.models import OutboundMessage, SmsOptOut
from intake.telephony.outbound import queue_sms


class ReplyRefused(InvalidInput):
    """No reply can go to this case's reporter (the message says why)."""


def reply_by_sms(session: Session, case: Case, template: str, actor: str, *, nonce: str) -> OutboundMessage:
    """Queue the template's text to the case's first reporter and record it on the case. `nonce` is the
    form's own token: the same form sent twice (a double click, a retry) texts once. The caller commits."""
    if template not in SMS_REPLIES:
        raise ReplyRefused(f"unknown reply template {template!r}")
    if not nonce or len(nonce) > 64:
        raise ReplyRefused("a reply needs its form token")
    assert case.id is not None
    phone = reporter_phone(session, case.id)
    if phone is None:
        raise ReplyRefused(f"case {case.number} has no reporter phone")
    if session.get(SmsOptOut, phone) is not None:
        raise ReplyRefused("the reporter has opted out of SMS")
    body = sms_reply(template, case.number)
    om = queue_sms(
        session,
        purpose="agent_reply",
        to=phone,
        body=body,
        dedupe_key=f"agent_reply:{case.id}:{nonce}",
        case_id=case.id,
        quiet_ok=True,  # a person chose to answer now, like a call they place
    )
    if om.case_id == case.id and om.body == body and not _recorded(session, case, om):
        record_event(
            session,
            case,
            EventKind.SMS_REPLY,
            actor,
            reason=SMS_REPLIES[template][0],
            data={"template": template, "outbound_id": om.id, "text": body},
        )
    session.flush()
    return om


def _recorded(session: Session, case: Case, om: OutboundMessage) -> bool:
    events = session.exec(
        select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.action == EventKind.SMS_REPLY.value)
    )
    return any(ev.data.get("outbound_id") == om.id for ev in events)
