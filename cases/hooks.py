"""What follows a case's moves: jobs after the commit (notify the reporter at 派遣, start the 回访 call at
核实 …), and observers inside the same transaction (the SLA clocks start, pause and stop with the move).

The kernel knows only job names; which jobs follow which status is wired by the composition root
(`hotline.wiring`), so the kernel imports no channel code and a city can change the wiring in one place.
`cases.service.apply_action` enqueues them after the transaction commits.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from cases import providers
from cases.jobnames import JobName

if TYPE_CHECKING:
    from sqlmodel import Session

    from cases.models import Case, CaseEvent

# Called as observer(session, case, event) after every applied action, in the mover's transaction: what
# it changes commits (or rolls back) with the move. `event` holds the action, the statuses and the data.
TransitionObserver = Callable[["Session", "Case", "CaseEvent"], None]

# status → job names, as the composition root wired them in this process.
LISTENERS: providers.Key[dict[str, list[JobName]]] = providers.Key("case hooks", dict)
OBSERVERS: providers.Key[list[TransitionObserver]] = providers.Key("case observers", list)


def on_status(status: str, job: JobName) -> None:
    """Run `job(case_id)` after every commit that moves a case into `status`."""
    jobs = providers.get(LISTENERS).setdefault(status, [])
    if job not in jobs:
        jobs.append(job)


def listeners(status: str) -> list[JobName]:
    return list(providers.get(LISTENERS).get(status, ()))


def on_transition(observer: TransitionObserver) -> None:
    """Call `observer` inside the transaction of every applied lifecycle action (idempotent)."""
    registered = providers.get(OBSERVERS)
    if observer not in registered:
        registered.append(observer)


def observers() -> list[TransitionObserver]:
    registered: list[TransitionObserver] = providers.get(OBSERVERS)
    return list(registered)


def clear() -> None:
    providers.reset(LISTENERS)
    providers.reset(OBSERVERS)
