"""Names for what the telephony tables store as text (`OutboundMessage.kind` and `.status`,
`SmsMessage.kind`). The values are the stored strings, so rows written before these names existed
read the same."""

from __future__ import annotations

from enum import StrEnum


class OutboundKind(StrEnum):
    SMS = "sms"
    CALL = "call"


class OutboundStatus(StrEnum):
    QUEUED = "queued"  # an immediate answer (a case number): sent even in quiet hours
    PENDING = "pending"  # a notice: waits for the end of quiet hours
    DEFERRED = "deferred"  # held back by quiet hours or a delay until `not_before` (`flush_due`)
    SENT = "sent"  # Twilio took it
    DELIVERED = "delivered"  # Twilio's status callback: it arrived
    OPTED_OUT = "opted_out"  # the number sent 退订: nothing goes to it
    FAILED = "failed"  # out of attempts, or Twilio says undelivered
    SKIPPED = "skipped"  # not sendable here (credentials missing)


class SmsKind(StrEnum):
    """What an inbound text turned out to be."""

    REPORT = "report"  # a new report
    APPEND = "append"  # more words for the sender's recent report
    QUERY = "query"  # asks for a case's status by number
    STOP = "stop"  # 退订
    START = "start"  # subscribes again
    HELP = "help"
