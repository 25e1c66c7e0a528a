"""The one table of which function runs under each job name (`cases.jobnames.JobName`).

Packages start jobs by name (`cases.jobs.enqueue_after_commit`, `run_now`) and never name each other's
functions; here, in the composition root, each name meets its function, by dotted path. RQ stores a job
under this path, the same as before jobs had names, so jobs already waiting in Redis from an earlier
release still run and an older worker can run a job this release enqueued (tests/unit/test_wiring.py
keeps the paths). A path is imported only when its job first runs: a CLI command that starts no job
loads neither the pipeline nor Twilio.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from cases import jobs
from cases.jobnames import JobName

JOBS: dict[JobName, str] = {
    JobName.PROCESS_REPORT: "routing.pipeline.process_report",
    JobName.APPLY_TRANSCRIPT: "routing.voicemail.apply_transcript_job",
    JobName.REDISPATCH_REOPENED: "routing.reopen.redispatch_reopened",
    JobName.SEND_SMS: "intake.telephony.outbound.send_sms",
    JobName.PLACE_CALL: "intake.telephony.outbound.place_call",
    JobName.RING_AGENT: "intake.telephony.agent_calls.ring_agent",
    JobName.SEND_CASE_NUMBER: "intake.telephony.outbound.send_case_number",
    JobName.NOTIFY_CASE_STATUS: "intake.telephony.outbound.notify_case_status",
    JobName.START_SURVEY_CALL: "intake.telephony.outbound.start_survey_call",
    JobName.SEND_SURVEY_LINK: "intake.telephony.outbound.queue_survey_link",
    JobName.RECORD_CALLBACK_CALL: "agent_ui.callbacks.jobs.record_callback_call",
    JobName.SWEEP: "routing.pipeline.sweep",
    JobName.FLUSH_DUE: "intake.telephony.outbound.flush_due",
    JobName.SEND_DEPARTMENT_NOTICE: "routing.notices.send_department_notice",
    JobName.SEND_DEPARTMENT_SMS: "intake.telephony.department_sms.send_department_sms",
    JobName.ESCALATE: "routing.escalation_sweep.escalate",
    JobName.REFRESH_DASHBOARD: "routing.dashboard.refresh.refresh_job",
    JobName.HOTSPOTS: "routing.hotspot_alerts.sweep_hotspots",
    JobName.SEND_HOTSPOT_SMS: "routing.hotspot_alerts.send_hotspot_sms",
    JobName.SUPERVISOR_PHONES: "agent_ui.accounts.directory.supervisor_phones",
    JobName.RETENTION: "intake.retention.apply_retention",
}


def job_function(job: JobName) -> Callable[..., Any]:
    module, _, name = JOBS[job].rpartition(".")
    func: Callable[..., Any] = getattr(importlib.import_module(module), name)
    return func


def wire_jobs() -> None:
    """Idempotent. Entry points call `configure_runtime`, which calls this."""
    jobs.set_job_functions(job_function)
