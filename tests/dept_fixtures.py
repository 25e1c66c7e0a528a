"""Cases dispatched to a department, made through the real use cases (so their SLA clocks run), and a small
photo to upload: for the department portal's and the supervisors' pages' tests."""

from __future__ import annotations

import io
import uuid
from datetime import timedelta

from PIL import Image
from sqlmodel import col, select

from cases.db import session_scope
from cases.lifecycle import Action
from cases.models import Report
from cases.service import apply_action, get_case_by_number, open_case
from routing import department
from routing.models import ClockKind, SlaClock
from routing.review import dispatch_case
from tests.console_helpers import GRID

PHONE = "+8613911112222"
MASKED = "139****2222"


def dispatched_case(
    title: str = "东门菜市场门口垃圾满溢",
    *,
    category: str = "06010",
    department_code: str | None = None,
    photos: list[str] | None = None,
) -> str:
    """A case reported by SMS, registered and dispatched by the routing rules (06010 → sanitation)."""
    with session_scope() as s:
        case = open_case(s, actor="system:pipeline", title=title, category_code=category, grid_code=GRID)
        s.add(
            Report(
                channel="sms",
                external_id=uuid.uuid4().hex,
                text=f"{title}，好几天没人管了",
                phone=PHONE,
                address="东门菜市场北门",
                attachments=photos or [],
                case_id=case.id,
            )
        )
        apply_action(s, case, Action.REGISTER, "system:pipeline")
        dispatch_case(s, case, "agent:li", department_code=department_code)
        return case.number


def signed_case(title: str = "东门菜市场门口垃圾满溢", *, who: str = "dept:wang") -> str:
    number = dispatched_case(title)
    with session_scope() as s:
        case = get_case_by_number(s, number)
        assert case is not None
        department.sign_for(s, case, who, department_code=case.department_code)
    return number


def returned_case(times: int = 1) -> str:
    """A case its department returned `times` times (re-dispatched in between)."""
    number = dispatched_case("井盖旁边堆了一堆垃圾")
    for n in range(times):
        with session_scope() as s:
            case = get_case_by_number(s, number)
            assert case is not None
            if n:
                dispatch_case(s, case, "agent:li")
            department.return_case(
                s,
                case,
                "dept:wang",
                reason_code="not_ours",
                reason_text=f"第{n + 1}次：该处属市政管养范围",
                department_code=case.department_code,
            )
    return number


def age_dispatch(number: str, by: timedelta) -> None:
    """Move the case's 签收 clock start back by `by` (a case dispatched long ago: the 退单 window is over)."""
    with session_scope() as s:
        case = get_case_by_number(s, number)
        assert case is not None
        clocks = s.exec(
            select(SlaClock).where(SlaClock.case_id == case.id, SlaClock.kind == ClockKind.SIGN.value)
        ).all()
        for clock in clocks:
            clock.started_at = clock.started_at - by
            s.add(clock)


def running(number: str) -> SlaClock | None:
    with session_scope() as s:
        case = get_case_by_number(s, number)
        assert case is not None
        clock = s.exec(
            select(SlaClock)
            .where(SlaClock.case_id == case.id, col(SlaClock.stopped_at).is_(None))
            .order_by(col(SlaClock.id).desc())
        ).first()
        if clock is not None:
            s.expunge(clock)
        return clock


def png(colour: str = "green", size: tuple[int, int] = (64, 48)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "PNG")
    return out.getvalue()


def set_clock(number: str, *, started_ago: timedelta, due_in: timedelta, unit: str = "hours", **case: object) -> None:
    """Put the case's running clock (and the case's mirror of it) at a chosen point: a case that is late, or
    near its deadline, for pages that show colours. `case`: other Case fields (supervision, overdue)."""
    from cases.models import utcnow

    mirrors = {"sign": "dispatch_deadline", "handle": "handle_deadline", "verify": "verify_deadline"}
    with session_scope() as s:
        found = get_case_by_number(s, number)
        assert found is not None
        clock = s.exec(select(SlaClock).where(SlaClock.case_id == found.id, col(SlaClock.stopped_at).is_(None))).one()
        now = utcnow()
        clock.started_at, clock.due_at, clock.limit_unit = now - started_ago, now + due_in, unit
        setattr(found, mirrors[clock.kind], clock.due_at)
        for key, value in case.items():
            setattr(found, key, value)
        s.add(clock)
        s.add(found)
