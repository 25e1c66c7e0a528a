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


class AgentCallPurpose(StrEnum):
    """Why we rang an agent's own phone (`AgentCall.purpose`)."""

    NEXT_CALLER = "next_caller"  # 接听下一位: bridge the longest-waiting caller of the agents' queue
    CALLBACK = "callback"  # 回访: bridge the resident of a case


AGENT_CALL_PURPOSE_ZH = {AgentCallPurpose.NEXT_CALLER: "接听下一位", AgentCallPurpose.CALLBACK: "回访"}


class AgentCallStatus(StrEnum):
    """Where one call to an agent's phone is (`AgentCall.status`). The active ones only move forward
    (`AGENT_CALL_ORDER`): Twilio's callbacks arrive late and out of order, and a late "ringing" must not
    undo "bridged". The final ones never change again."""

    QUEUED = "queued"  # stored; the ring job has not asked Twilio yet
    DIALING = "dialing"  # the ring job is asking Twilio
    RINGING = "ringing"  # Twilio took the call: the agent's phone rings
    ANSWERED = "answered"  # the agent picked up: waiting for the queue / dialling the resident
    BRIDGED = "bridged"  # the agent talks with the caller or the resident
    COMPLETED = "completed"  # ended after the agent answered
    NO_ANSWER = "no_answer"  # the agent, the resident or the queue (nobody waiting) did not answer
    BUSY = "busy"
    FAILED = "failed"  # Twilio refused the call or it could not be placed
    CANCELED = "canceled"


AGENT_CALL_ORDER = (
    AgentCallStatus.QUEUED,
    AgentCallStatus.DIALING,
    AgentCallStatus.RINGING,
    AgentCallStatus.ANSWERED,
    AgentCallStatus.BRIDGED,
)
AGENT_CALL_ACTIVE = frozenset(AGENT_CALL_ORDER)

AGENT_CALL_STATUS_ZH = {
    AgentCallStatus.QUEUED: "正在呼叫",
    AgentCallStatus.DIALING: "正在呼叫",
    AgentCallStatus.RINGING: "您的电话正在振铃",
    AgentCallStatus.ANSWERED: "正在接通",
    AgentCallStatus.BRIDGED: "通话中",
    AgentCallStatus.COMPLETED: "通话结束",
    AgentCallStatus.NO_ANSWER: "无人接听",
    AgentCallStatus.BUSY: "对方忙",
    AgentCallStatus.FAILED: "呼叫失败",
    AgentCallStatus.CANCELED: "已取消",
}

# Twilio's CallStatus / DialCallStatus (hyphenated) → the final status it means.
TWILIO_FINAL_STATUS = {
    "completed": AgentCallStatus.COMPLETED,
    "no-answer": AgentCallStatus.NO_ANSWER,
    "busy": AgentCallStatus.BUSY,
    "failed": AgentCallStatus.FAILED,
    "canceled": AgentCallStatus.CANCELED,
}
