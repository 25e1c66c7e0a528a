"""One matter, one case: a camera's alert and a resident's report of the same category in the same grid,
close together in time, belong to the same case. A query only; the pipeline does the linking for every
channel once it knows the category and the grid. Two residents reporting the same thing are not linked
here: that is a judgement for an agent (合并).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from cases.lifecycle import TERMINAL
from cases.models import Case, Report
from cases.states import Channel


def find_case_to_link(
    session: Session,
    *,
    channel: str,
    category_code: str | None,
    grid_code: str | None,
    at: datetime,
    window_seconds: int,
) -> Case | None:
    """The most recent open case of this category and grid, opened within the window before `at`, that
    came from the other side of the camera/resident divide; None when there is none."""
    if not category_code or not grid_code or window_seconds <= 0:
        return None
    since = at - timedelta(seconds=window_seconds)
    from_camera = col(Report.channel) == Channel.CAMERA
    camera_side = from_camera if channel != Channel.CAMERA else ~from_camera
    return session.exec(
        select(Case)
        .join(Report, col(Report.case_id) == col(Case.id))
        .where(
            Case.category_code == category_code,
            Case.grid_code == grid_code,
            col(Case.status).not_in([s.value for s in TERMINAL]),
            col(Case.created_at) >= since,
            col(Case.created_at) <= at + timedelta(seconds=5),  # clock skew between web nodes
            camera_side,
        )
        .order_by(col(Case.created_at).desc())
    ).first()
