"""One matter, one case: a camera's alert and a resident's report of the same category in the same grid,
close together in time, belong to the same case.

Queries only, no writes. A camera knows its grid and category, so a camera alert looks for the
resident's case at intake (`find_case_to_link`) and passes `hints.link_case_id`, which the pipeline's
link branch honours. The web form and Open311 do the reverse with `camera_case_for_resident`. Voice and
SMS reports would need the same call in the pipeline, which may not import intake: see docs/channels.md.
Two residents reporting the same thing are not linked here: that is a judgement for an agent (合并).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from cases.lifecycle import TERMINAL
from cases.models import Case, Report
from classifiers.base import ReportFacts
from classifiers.registry import get_classifier

CAMERA = "camera"


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
    camera_side = col(Report.channel) == CAMERA if channel != CAMERA else col(Report.channel) != CAMERA
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


def _recent_camera_case_exists(session: Session, since: datetime) -> bool:
    return session.exec(
        select(Case.id)
        .join(Report, col(Report.case_id) == col(Case.id))
        .where(col(Report.channel) == CAMERA, col(Case.created_at) >= since,
               col(Case.status).not_in([s.value for s in TERMINAL]))
        .limit(1)
    ).first() is not None


def camera_case_for_resident(
    session: Session,
    *,
    channel: str,
    text: str,
    lat: float | None,
    lon: float | None,
    address: str | None,
    category_code: str | None,
    at: datetime,
    window_seconds: int,
) -> Case | None:
    """For the resident doors handled in intake (web form, Open311): the open camera case this report is
    about, if any. The grid is known only after classification, so the classifier runs here too, but only
    when some camera case is open in the window at all (rare), so ordinary reports pay one cheap query.
    The pipeline later classifies again; the classifier is deterministic, so both agree."""
    if window_seconds <= 0 or not _recent_camera_case_exists(session, at - timedelta(seconds=window_seconds)):
        return None
    c = get_classifier().classify(ReportFacts(text=text, lat=lat, lon=lon, address=address))
    return find_case_to_link(session, channel=channel, category_code=category_code or c.category_code,
                             grid_code=c.grid_code, at=at, window_seconds=window_seconds)
