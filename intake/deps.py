"""The web layer's one request-scoped session: every route that touches the database takes `DbSession`.

It is the request's unit of work (`cases.db.request_session`): committed when the handler returned,
rolled back when it raised. scope="function" makes FastAPI close it as soon as the handler has returned
and before the response is sent (the default, scope="request", closes it after sending), so a report a
resident or a webhook is told was stored is committed before they are told; a failed commit is a 500.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from sqlmodel import Session

from cases.db import request_session

DbSession = Annotated[Session, Depends(request_session, scope="function")]
