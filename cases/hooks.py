"""Jobs that follow a case's moves (notify the reporter at 派遣, start the 回访 call at 核实 …).

The kernel knows only job names; which jobs follow which status is wired by the composition root
(`hotline.wiring`), so the kernel imports no channel code and a city can change the wiring in one place.
`cases.service.apply_action` enqueues them after the transaction commits.
"""

from __future__ import annotations

from cases import providers
from cases.jobnames import JobName

# status → job names, as the composition root wired them in this process.
LISTENERS: providers.Key[dict[str, list[JobName]]] = providers.Key("case hooks", dict)


def on_status(status: str, job: JobName) -> None:
    """Run `job(case_id)` after every commit that moves a case into `status`."""
    jobs = providers.get(LISTENERS).setdefault(status, [])
    if job not in jobs:
        jobs.append(job)


def listeners(status: str) -> list[JobName]:
    return list(providers.get(LISTENERS).get(status, ()))


def clear() -> None:
    providers.reset(LISTENERS)
