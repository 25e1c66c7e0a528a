"""Names for the states and kinds the kernel stores as text: where a report came from, how far its
processing got, and the kinds of case event that are not lifecycle actions (`cases.lifecycle.Action`).
The values are the stored strings, so rows written before these names existed read the same."""

from __future__ import annotations

from enum import StrEnum


class Channel(StrEnum):
    """The door a report came through; each channel's adapter owns its namespace of external ids."""

    VOICE = "voice"
    SMS = "sms"
    WEB = "web"
    CAMERA = "camera"
    OPEN311 = "open311"
    API = "api"
    AGENT = "agent"  # typed by a hotline agent while the resident is on the line (/console/new)
    GRID = "grid"  # a grid worker's report from patrol (/grid/): registered on their word


class ReportState(StrEnum):
    """`Report.processing_status`: the pipeline's progress on a report."""

    PENDING = "pending"  # waiting for (another) pipeline run
    PROCESSING = "processing"  # a run has started; the sweeper takes it up again if it dies
    DONE = "done"  # the report belongs to a case
    FAILED = "failed"  # out of attempts, until an operator retries (`hotline jobs retry`)


# A report in one of these has no case yet (the partial index `ix_report_without_case` covers them).
UNFINISHED_REPORT_STATES = (ReportState.PENDING.value, ReportState.PROCESSING.value, ReportState.FAILED.value)


class EventKind(StrEnum):
    """`CaseEvent.action` for an event that moves no case (lifecycle actions are `Action`)."""

    OPEN = "open"  # 上报: the case exists
    LINK_REPORT = "link_report"  # another report of the same matter joined the case (一事多诉)
    CLASSIFY = "classify"  # the machine's category and grid, with confidence
    HOLD_FOR_AGENT = "hold_for_agent"  # not dispatched on the machine's word: an agent checks first
    CONFIRM = "confirm"  # an agent confirmed the machine's tags
    CORRECT = "correct"  # an agent corrected them
    SMS_REPLY = "sms_reply"  # an agent texted the reporter one of the reply templates (cases.texts)
    REVEAL_PHONE = "reveal_phone"  # someone asked to see a reporter's full number (the audit of who saw it)
    DUPLICATE_PROPOSED = "duplicate_proposed"  # 一事多诉: intake found an open case of the same matter nearby
    SLA_WARNING = "sla_warning"  # the ladder's early step (e.g. 80 % of a limit): the department is texted
    CHECK_REQUESTED = "check_requested"  # a routing rule asked a grid worker for 核查 before 立案
    SLA_RECALCULATED = "sla_recalculated"  # a supervisor had the running clock counted again by today's policy
