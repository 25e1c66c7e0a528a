"""The one table of which function runs under each job name (`cases.jobnames.JobName`).

Packages start jobs by name (`cases.jobs.enqueue_after_commit`, `run_now`) and never name each other's
functions; this table, installed by every entry point (`hotline.wiring.configure_runtime`), is where a
name meets its function. RQ stores a job by the function's own dotted path — the same paths as before
job names existed — so jobs already waiting in Redis from an earlier release still run, and an older
worker can run a job this release enqueued (tests/unit/test_wiring.py keeps the paths).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cases import jobs
from cases.jobnames import JobName
from intake.telephony import outbound
from routing import pipeline, voicemail

JOBS: dict[JobName, Callable[..., Any]] = {
    JobName.PROCESS_REPORT: pipeline.process_report,
    JobName.APPLY_TRANSCRIPT: voicemail.apply_transcript_job,
    JobName.SEND_SMS: outbound.send_sms,
    JobName.PLACE_CALL: outbound.place_call,
    JobName.SEND_CASE_NUMBER: outbound.send_case_number,
    JobName.NOTIFY_CASE_STATUS: outbound.notify_case_status,
    JobName.START_SURVEY_CALL: outbound.start_survey_call,
    JobName.SWEEP: pipeline.sweep,
    JobName.FLUSH_DUE: outbound.flush_due,
}


def wire_jobs() -> None:
    """Idempotent. Entry points call `configure_runtime`, which calls this."""
    jobs.set_functions(JOBS)
