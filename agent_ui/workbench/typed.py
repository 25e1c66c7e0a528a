"""A report an agent types while the resident is on the line: checked, then through the one intake door
(`intake.core.accept`, channel `agent`) and the same pipeline as every other report.

The category and grid the agent chose travel as hints the pipeline trusts from this channel only
(`routing.pipeline._agent_choice`): both chosen is a confirmation under the agent's name, and the case
is dispatched without waiting in the queue for one."""

from __future__ import annotations

import re
from dataclasses import dataclass

from pydantic import BaseModel, Field
from sqlmodel import Session

from cases.models import Case, Report
from cases.phone import InvalidPhone, normalize_phone
from cases.reference import InvalidInput, check_category, check_grid
from cases.sanitize import clean_text
from cases.states import Channel, ReportState
from intake.core import accept, find_report
from intake.schemas import LocationIn, ReportIn
from intake.telephony.agent_calls import agent_call

MAX_DESCRIPTION = 2000
MAX_PLACE = 300
KEY = re.compile(r"[0-9a-f]{32}")


class TypedCaseError(ValueError):
    """What is wrong with the typed report, in words for the agent."""


class TypedCase(BaseModel):
    """The form of /console/new as typed (kept as typed, to show it again with a message)."""

    key: str = Field(default="", max_length=64)  # the form's idempotency key, made when it was shown
    description: str = Field(default="", max_length=MAX_DESCRIPTION * 2)
    phone: str = Field(default="", max_length=64)
    place: str = Field(default="", max_length=MAX_PLACE * 2)
    category_code: str = Field(default="", max_length=16)
    grid_code: str = Field(default="", max_length=15)
    call_id: str = Field(default="", max_length=12)  # the agent's call this resident came in on (screen pop)

    def cleaned(self) -> TypedCase:
        return TypedCase(**{k: clean_text(v).strip() for k, v in self.model_dump().items()})


def external_id(key: str) -> str:
    return f"console-{key}"


@dataclass(frozen=True)
class Submission:
    case_number: str | None  # None until the pipeline has made (or linked) the case
    failed: bool  # the pipeline gave up: the report waits in the queue for a person


def submission(session: Session, key: str) -> Submission | None:
    """What became of one form submission (None for a key no submission used)."""
    report = find_report(session, Channel.AGENT, external_id(key)) if KEY.fullmatch(key) else None
    if report is None:
        return None
    case = session.get(Case, report.case_id) if report.case_id else None
    return Submission(case.number if case else None, report.processing_status == ReportState.FAILED)


def call_phone(session: Session, call_id: str, agent_user_id: int) -> str | None:
    """The caller's number of one of the agent's own calls (never another agent's)."""
    if not (call_id.isascii() and call_id.isdigit()) or len(call_id) > 9:
        return None
    row = agent_call(session, int(call_id), agent_user_id=agent_user_id)
    return row.resident_phone if row is not None else None


def _check(session: Session, typed: TypedCase, agent_user_id: int) -> str | None:
    """The E.164 phone; raises TypedCaseError for what the agent must correct."""
    if not KEY.fullmatch(typed.key):
        raise TypedCaseError("表单已失效，请刷新页面后重新提交（已填写的内容已保留）")
    if not typed.description:
        raise TypedCaseError("请填写问题描述")
    if len(typed.description) > MAX_DESCRIPTION:
        raise TypedCaseError(f"问题描述请不要超过 {MAX_DESCRIPTION} 字")
    if len(typed.place) > MAX_PLACE:
        raise TypedCaseError(f"地址或地点请不要超过 {MAX_PLACE} 字")
    try:
        if typed.category_code:
            check_category(session, typed.category_code)
        if typed.grid_code:
            check_grid(session, typed.grid_code)
    except InvalidInput:
        raise TypedCaseError("所选事项类别或网格不存在或已停用，请重新选择") from None
    if not typed.phone and typed.call_id:
        return call_phone(session, typed.call_id, agent_user_id)
    try:
        return normalize_phone(typed.phone or None)
    except InvalidPhone:
        raise TypedCaseError("来电号码格式不正确：请填写 11 位手机号或带区号的固定电话（市民不愿留号可不填）") from None


def register_typed_report(session: Session, typed: TypedCase, actor: str, *, agent_user_id: int) -> Report:
    """Store the typed report (once per form: a second submission of the same form gets the first
    report back) and leave it to the pipeline. The caller commits; the pipeline runs after that."""
    phone = _check(session, typed, agent_user_id)
    hints: dict[str, str] = {"confirmed_by": actor}
    if typed.category_code:
        hints["category_code"] = typed.category_code
    if typed.grid_code:
        hints["grid_code"] = typed.grid_code
    place = typed.place or None
    accepted = accept(
        session,
        ReportIn(
            channel=Channel.AGENT,
            external_id=external_id(typed.key),
            text=typed.description,
            phone=phone,
            location=LocationIn(address=place) if place else None,
            hints=hints,
            raw={"typed_by": actor, "place": typed.place or None, "agent_call_id": typed.call_id or None},
        ),
    )
    return accepted.report
