"""Every background job the system has, by name. Code that starts a job names it here; which function
runs under each name is the composition root's table (`hotline.jobs.JOBS`), so a package never names
another package's function, not even as a dotted string."""

from __future__ import annotations

from enum import StrEnum


class JobName(StrEnum):
    # the report → case pipeline (routing)
    PROCESS_REPORT = "process_report"  # (report_id) classify, route, 立案, 派遣; returns the case number
    APPLY_TRANSCRIPT = "apply_transcript"  # (report_id) a voicemail's words reach its case
    REDISPATCH_REOPENED = "redispatch_reopened"  # (case_id) a reopened case back to its department, next grade
    # telephony (intake)
    SEND_SMS = "send_sms"  # (outbound_message_id)
    PLACE_CALL = "place_call"  # (outbound_message_id)
    RING_AGENT = "ring_agent"  # (agent_call_id) ring an agent's own phone: 接听下一位, 回访
    SEND_CASE_NUMBER = "send_case_number"  # (report_id) text the reporter their case number
    NOTIFY_CASE_STATUS = "notify_case_status"  # (case_id) 派遣 / 反馈 notice to the reporter
    START_SURVEY_CALL = "start_survey_call"  # (case_id) the 回访 call after 核实
    SEND_SURVEY_LINK = "send_survey_link"  # (case_id) the SMS rating link when 回访 reached nobody
    RECORD_CALLBACK_CALL = "record_callback_call"  # (agent_call_id) a 回访 call that reached nobody: a try
    # department notices (routing; the SMS itself goes through telephony)
    SEND_DEPARTMENT_NOTICE = "send_department_notice"  # (notice_id) one DepartmentNotice: SMS or webhook
    # (dedupe_key, to, body, case_id) run in-process by SEND_DEPARTMENT_NOTICE through `run_now`, never
    # enqueued: a phone number is never a queued job's argument. Returns the Twilio sid.
    SEND_DEPARTMENT_SMS = "send_department_sms"
    # hotspots (routing): the supervisors' SMS of a new hotspot episode, through SEND_DEPARTMENT_SMS
    SEND_HOTSPOT_SMS = "send_hotspot_sms"  # (episode_id)
    # () → [(key, phone)] of the supervisors (agent_ui accounts), run in-process, never enqueued
    SUPERVISOR_PHONES = "supervisor_phones"
    # periodic (the sweeper), no arguments
    SWEEP = "sweep"  # reports without a case: queue was down, a worker died
    FLUSH_DUE = "flush_due"  # notices held back by quiet hours
    ESCALATE = "escalate"  # the escalation ladder: steps due on running SLA clocks (routing.escalation)
    REFRESH_DASHBOARD = "refresh_dashboard"  # the dashboard's per-day aggregates: the days that changed
    HOTSPOTS = "hotspots"  # the hotspot test on every (grid, category); a new episode tells the supervisors
    RETENTION = "retention"  # raw payloads and photos of cases closed long ago (intake.retention)
