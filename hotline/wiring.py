"""Which background jobs follow which case moves, which observers run inside every move, and which
periodic tasks the sweeper runs.

One place to read (and change) the automatic side of the closed loop:
派遣 → SMS to the reporters; 反馈 → SMS that it is done; 核实 → the satisfaction call (回访); 合并 → SMS to the
merged case's reporters naming the case that now handles their report (every reporter of the case, once
each); 重开 → back to the department one grade up. Inside every move: the SLA clocks, the department's
notices, the end of a 核查 task (`transition_observers`).
Every entry point (app factory, worker, each CLI command) wires them through `configure_runtime`.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Literal

from cases import hooks, jobs
from cases.jobnames import JobName
from cases.lifecycle import CaseStatus
from cases.settings import KernelSettings, kernel_settings
from hotline.jobs import wire_jobs

log = logging.getLogger(__name__)

CASE_HOOKS: list[tuple[CaseStatus, JobName]] = [
    (CaseStatus.DISPATCHED, JobName.NOTIFY_CASE_STATUS),
    (CaseStatus.HANDLED, JobName.NOTIFY_CASE_STATUS),
    (CaseStatus.VERIFIED, JobName.START_SURVEY_CALL),
    (CaseStatus.REOPENED, JobName.REDISPATCH_REOPENED),
    (CaseStatus.MERGED, JobName.NOTIFY_CASE_STATUS),
]

# Run by the sweeper every HOTLINE_SWEEP_INTERVAL_SECONDS (one sweeper at a time across the fleet).
PERIODIC: list[JobName] = [
    JobName.SWEEP,
    JobName.FLUSH_DUE,
    JobName.ESCALATE,
    JobName.REFRESH_DASHBOARD,
    JobName.HOTSPOTS,
    JobName.RETENTION,
]


def transition_observers() -> list[hooks.TransitionObserver]:
    """What runs inside the transaction of every case move, in this order. The department's 派遣 notice
    (routing.notices) comes after the SLA clocks, so it names the 签收 deadline the move just set; a case
    that leaves 上报 any way ends its 核查 task (routing.verification)."""
    from routing import clocks, notices, verification

    return [clocks.on_transition, notices.on_transition, verification.end_check_when_moved]


def wire_observers() -> None:
    """The observers every move runs in its own transaction. Idempotent."""
    for observer in transition_observers():
        hooks.on_transition(observer)


def wire_case_hooks() -> None:
    """Idempotent. Entry points call `configure_runtime`, which calls this."""
    wire_observers()
    for status, job in CASE_HOOKS:
        hooks.on_status(status.value, job)


def wire_jobs_and_hooks() -> None:
    """What every process needs before it moves a case, whichever queue runs the jobs: the function of
    each job name and the jobs that follow each case move. Idempotent."""
    wire_jobs()
    wire_case_hooks()


Role = Literal["web", "worker", "cli"]


class ForegroundQueue:
    """The job queue of a short-lived command on the embedded default (no Redis): a job enqueued after
    a commit runs right there, before the command exits — a background thread would die with the process
    and take the 派遣 SMS or the 回访 call with it. Jobs take ids and are safe to run twice, so a failed
    one is simply tried again (briefly: a person is waiting); what they send is an OutboundMessage row
    first, so a notice deferred by quiet hours is sent later by the server's `flush_due`."""

    def __init__(self, settings: KernelSettings) -> None:
        self.attempts = max(settings.job_max_attempts, 1)
        self.failed: list[tuple[JobName, tuple[Any, ...], str]] = []

    def enqueue(self, job: JobName, *args: Any) -> None:
        for attempt in range(1, self.attempts + 1):
            try:
                jobs.run_now(job, *args)
                return
            except Exception as exc:
                if attempt == self.attempts:
                    log.error("job %s%r failed for good: %s", job, args, exc)
                    self.failed.append((job, args, repr(exc)))
                    return
                log.warning("job %s%r failed (attempt %s), retrying: %s", job, args, attempt, exc)
                time.sleep(min(0.5 * attempt, 2.0))


def configure_runtime(
    role: Role, settings: KernelSettings | None = None, queue: jobs.JobQueue | None = None
) -> jobs.JobQueue:
    """The one function every entry point calls before it moves a case — the app factory ("web"), the
    worker ("worker"), every CLI command ("cli", from the Typer callback): jobs and case hooks are wired
    (`wire_jobs_and_hooks`), so the follow-up jobs run whoever moves the case, and the job queue for
    the role is installed.

    `queue` given (tests): that one. Otherwise, with Redis every role enqueues to RQ; without it, web and
    worker get the in-process thread and a command gets `ForegroundQueue`."""
    wire_jobs_and_hooks()
    if role != "cli":
        _check_routing_rules()
    if queue is not None:
        jobs.set_queue(queue)
        return queue
    settings = settings or kernel_settings()
    if role == "cli" and not settings.redis_url:
        q: jobs.JobQueue = ForegroundQueue(settings)
        jobs.set_queue(q)
        return q
    from hotline.queues import configure_queue  # loads rq and redis only for a process that uses them

    return configure_queue(settings, worker=role == "worker")


def _check_routing_rules() -> None:
    """Say at start-up, not at the first report, that the rules file names something that does not exist.
    Only a log line: intake keeps storing reports (the pipeline refuses to route them until it is fixed,
    and `hotline jobs retry` takes them up again)."""
    from routing.rules import RulesError
    from routing.ruleset import routing_table

    try:
        routing_table()
    except RulesError as exc:
        log.error("routing rules refused: %s", exc)
    except Exception as exc:  # the database may not be up yet; the first report will tell
        log.warning("routing rules not checked at start-up: %s", type(exc).__name__)
