"""The bare endpoint of `bench/intake.py`: FastAPI with the same body model (`ApiReportIn`) and nothing
behind it, served by uvicorn like `hotline serve` (one process, uvicorn's defaults: uvloop, httptools).

It is what the framework allows on this machine: the intake endpoint's figures are read as ratios to it.
Both a threadpool endpoint (`def`, as the hotline's was) and an event-loop one (`async def`) are here, so the
benchmark can say which one the ratio is taken against.
"""

from __future__ import annotations

import itertools
from typing import Any

from fastapi import FastAPI

from intake.schemas import ApiReportIn

app = FastAPI()
_ids = itertools.count(1)


@app.post("/api/v1/reports", status_code=202)
def post_report(body: ApiReportIn) -> dict[str, Any]:
    return {"report_id": next(_ids), "duplicate": False, "external_id": body.external_id}


@app.post("/async/api/v1/reports", status_code=202)
async def post_report_async(body: ApiReportIn) -> dict[str, Any]:
    return {"report_id": next(_ids), "duplicate": False, "external_id": body.external_id}


@app.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}
