"""`hotline worker`: the process that runs jobs from Redis. Its own module so that the queue classes
(`hotline.queues`) need not import the wiring and the sweeper that use them."""

from __future__ import annotations

from cases.settings import KernelSettings
from hotline.queues import RQQueue, WorkerSupervisor
from hotline.sweeper import start_sweeper
from hotline.wiring import configure_runtime


def run_worker(settings: KernelSettings, burst: bool = False, sweep: bool = True) -> None:
    """`hotline worker`: the sweeper (its own thread, which outlives work-loop restarts) and a supervised
    RQ work loop."""
    q = configure_runtime("worker", settings)
    assert isinstance(q, RQQueue)
    supervisor = WorkerSupervisor(settings, q, burst=burst)
    if sweep:
        start_sweeper(settings, supervisor.side_connection)
    supervisor.run()
