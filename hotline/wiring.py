"""Which background jobs follow which case moves, and which periodic tasks the sweeper runs.

One place to read (and change) the automatic side of the closed loop:
派遣 → SMS to the reporter; 反馈 → SMS that it is done; 核实 → the satisfaction call (回访).
"""

from __future__ import annotations

from cases import hooks
from cases.lifecycle import CaseStatus

NOTIFY = "intake.telephony.outbound.notify_case_status"
SURVEY = "intake.telephony.outbound.start_survey_call"

CASE_HOOKS: list[tuple[CaseStatus, str]] = [
    (CaseStatus.DISPATCHED, NOTIFY),
    (CaseStatus.HANDLED, NOTIFY),
    (CaseStatus.VERIFIED, SURVEY),
]

# Run by the sweeper every HOTLINE_SWEEP_INTERVAL_SECONDS (one sweeper at a time across the fleet).
PERIODIC: list[str] = [
    "routing.pipeline.sweep",  # reports without a case: queue was down, a worker died
    "intake.telephony.outbound.flush_due",  # notices held back by quiet hours
]


def wire_case_hooks() -> None:
    for status, job in CASE_HOOKS:
        hooks.on_status(status.value, job)
