"""A grid worker's report from patrol (上报): checked, then through the one intake door (`intake.core.accept`,
channel `grid`) and the same pipeline as every other report.

The grid worker stands at the problem: the category they chose and the grid (one of theirs) travel as
hints the pipeline trusts from this channel only, under their name (`routing.pipeline._agent_choice`), so
the case is registered and dispatched with no agent's confirmation. The form carries a key made when it
was shown: a double tap (or a resubmission after a lost answer) gets the first report back, and its
photos are not stored twice."""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, Field
from sqlmodel import Session

from agent_ui.grid.photos import store
from cases.lifecycle import CaseStatus
from cases.models import Case, Report
from cases.reference import InvalidInput, check_category, check_grid, reference_names
from cases.sanitize import clean_text
from cases.states import Channel, ReportState
from intake.core import accept, find_report
from intake.schemas import LocationIn, ReportIn
from intake.storage import CleanImage

MAX_DESCRIPTION = 2000
MAX_ADDRESS = 300
KEY = re.compile(r"[0-9a-f]{32}")
FIELDS = ("key", "description", "category_code", "category_other", "grid_code", "lat", "lon", "accuracy", "address")


class PatrolError(ValueError):
    """What is wrong with the report, in words for the grid worker."""


class PatrolForm(BaseModel):
    """The form of /grid/report as sent (kept as typed, to show it again with a message)."""

    key: str = Field(default="", max_length=64)
    description: str = Field(default="", max_length=MAX_DESCRIPTION * 2)
    category_code: str = Field(default="", max_length=16)
    category_other: str = Field(default="", max_length=16)  # the full list, for a phone without JavaScript
    grid_code: str = Field(default="", max_length=15)
    lat: str = Field(default="", max_length=32)
    lon: str = Field(default="", max_length=32)
    accuracy: str = Field(default="", max_length=32)
    address: str = Field(default="", max_length=MAX_ADDRESS * 2)

    @classmethod
    def of(cls, values: dict[str, str]) -> PatrolForm:
        return cls(**{k: clean_text(values.get(k, "")).strip()[: 2 * MAX_DESCRIPTION] for k in FIELDS})

    @property
    def category(self) -> str:
        return self.category_code or self.category_other


def external_id(key: str) -> str:
    return f"grid-{key}"


def _number(raw: str, low: float, high: float) -> float | None:
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if low <= value <= high else None


def _location(form: PatrolForm) -> LocationIn:
    lat = lon = None
    if form.lat or form.lon:
        lat, lon = _number(form.lat, -90, 90), _number(form.lon, -180, 180)
        if lat is None or lon is None:
            raise PatrolError("定位信息无效，请重新定位或填写地址")
    if len(form.address) > MAX_ADDRESS:
        raise PatrolError(f"地址请不要超过 {MAX_ADDRESS} 字")
    if lat is None and not form.address:
        raise PatrolError("请定位当前位置，或填写问题所在的地址")
    return LocationIn(lat=lat, lon=lon, address=form.address or None)


def _check(session: Session, form: PatrolForm, grids: Collection[str], photos: int) -> LocationIn:
    if not KEY.fullmatch(form.key):
        raise PatrolError("表单已失效，请刷新页面后重新提交")
    if not form.description:
        raise PatrolError("请填写问题描述")
    if len(form.description) > MAX_DESCRIPTION:
        raise PatrolError(f"问题描述请不要超过 {MAX_DESCRIPTION} 字")
    if not form.category:
        raise PatrolError("请选择问题类别")
    if form.grid_code not in grids:
        raise PatrolError("请选择您负责的网格")
    try:
        check_category(session, form.category)
        check_grid(session, form.grid_code)
    except InvalidInput:
        raise PatrolError("所选类别或网格不存在或已停用，请重新选择") from None
    if photos == 0:
        raise PatrolError("请拍摄至少一张现场照片")
    return _location(form)


def register_patrol_report(
    session: Session, form: PatrolForm, actor: str, *, grids: Collection[str], images: Sequence[CleanImage]
) -> Report:
    """Store the report (once per form: the same form again gets the first report back, its photos
    unstored) and leave it to the pipeline. The caller commits; the pipeline runs after that."""
    if KEY.fullmatch(form.key) and (first := find_report(session, Channel.GRID, external_id(form.key))) is not None:
        return first
    location = _check(session, form, grids, len(images))
    ids = store(session, images)
    accepted = accept(
        session,
        ReportIn(
            channel=Channel.GRID,
            external_id=external_id(form.key),
            text=form.description,
            location=location,
            attachments=ids,
            hints={"confirmed_by": actor, "category_code": form.category, "grid_code": form.grid_code},
            raw={"reported_by": actor, "accuracy_m": _number(form.accuracy, 0, 100_000) if form.accuracy else None},
        ),
    )
    return accepted.report


@dataclass(frozen=True)
class Submission:
    """What became of one report from patrol, for the page the grid worker lands on."""

    key: str
    received_at: datetime
    case: Case | None  # None until the pipeline has made (or linked) the case
    failed: bool  # the pipeline gave up: the report waits in the agents' queue
    category_name: str | None
    department_name: str | None

    @property
    def dispatched(self) -> bool:
        return self.case is not None and self.case.status == CaseStatus.DISPATCHED.value


def submission(session: Session, key: str, actor: str) -> Submission | None:
    """One of this grid worker's own submissions (None for a key nobody used, or another person's)."""
    report = find_report(session, Channel.GRID, external_id(key)) if KEY.fullmatch(key) else None
    if report is None or report.hints.get("confirmed_by") != actor:
        return None
    case = session.get(Case, report.case_id) if report.case_id else None
    names = reference_names()
    return Submission(
        key=key,
        received_at=report.received_at,
        case=case,
        failed=report.processing_status == ReportState.FAILED,
        category_name=names.category(case.category_code if case else report.hints.get("category_code")),
        department_name=names.department(case.department_code) if case else None,
    )
