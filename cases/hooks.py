"""Jobs that follow a case's moves (notify the reporter at 派遣, start the 回访 call at 核实 …).

The kernel knows only job names; which jobs follow which status is wired by the composition root
(`hotline.wiring`), so the kernel imports no channel code and a city can change the wiring in one place.
`cases.service.apply_action` enqueues them after the transaction commits.
"""

from __future__ import annotations

from cases.jobnames import JobName

_listeners: dict[str, list[JobName]] = {}


def on_status(status: str, job: JobName) -> None:
    """Run `job(case_id)` after every commit that moves a case into `status`."""
    jobs = _listeners.setdefault(status, [])
    if job not in jobs:
        jobs.append(job)


def listeners(status: str) -> list[JobName]:
    return list(_listeners.get(status, ()))


def clear() -> None:
    _listeners.clear()
