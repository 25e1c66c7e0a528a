"""A job the graceful-shutdown test enqueues by dotted path, as RQ stores every job: it marks when it
starts, takes its time, and marks when it ends."""

from __future__ import annotations

import time
from pathlib import Path


def slow_job(folder: str, seconds: float) -> str:
    Path(folder, "started").write_text("started")
    time.sleep(seconds)
    Path(folder, "finished").write_text("finished")
    return "finished"
