"""Cases with running SLA clocks at a controlled moment, department contacts and a webhook, and a queue that
only records what was enqueued — for the escalation and notice tests (SQLite unit tests and PostgreSQL
integration tests alike).

The clocks are made here directly (SlaClock rows); once the clocks' transition observer starts them at
派遣, a test could dispatch instead — these helpers put the case in the status the clock belongs to
without any lifecycle action that would start another."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, col, select

from cases import jobs
from cases.jobnames import JobName
from cases.lifecycle import Action, CaseStatus
from cases.models import Case, CaseEvent
from cases.service import apply_action, open_case
from routing.calendar import working_calendar
from routing.models import DepartmentContact, DepartmentWebhook, EscalationStep, SlaClock
from routing.sla import TimeLimit, deadline
from tests.console_helpers import DEPARTMENT, GRID

TZ = ZoneInfo("Asia/Shanghai")
DUTY_PHONE = "+8613900139001"
HEAD_PHONE = "+8613900139002"
SECRET = "whsec_test-secret-0123456789"


def at(day: str, hm: str) -> datetime:
    """A moment in city time (November 2026 has no public holiday: plain Monday–Friday weeks)."""
    return datetime.fromisoformat(f"{day}T{hm}").replace(tzinfo=TZ)


STATUS_OF_CLOCK = {"sign": CaseStatus.DISPATCHED, "handle": CaseStatus.IN_PROGRESS, "verify": CaseStatus.HANDLED}


def case_with_clock(
    s: Session,
    start: datetime,
    *,
    kind: str = "sign",
    amount: float = 1,
    unit: str = "working_hours",
    department: str = DEPARTMENT,
    title: str = "东门菜市场门口垃圾满溢",
) -> tuple[int, int]:
    """A registered case moved into the status of a `kind` clock of `department`, with that clock running
    from `start`; returns (case id, clock id)."""
    case = open_case(s, actor="system:test", title=title, category_code="06010", grid_code=GRID)
    apply_action(s, case, Action.REGISTER, "system:test")
    due = deadline(start, TimeLimit(amount, unit), working_calendar())  # type: ignore[arg-type]
    case.status, case.department_code = STATUS_OF_CLOCK[kind].value, department
    if kind == "sign":
        case.dispatch_deadline = due
    elif kind == "handle":
        case.handle_deadline = due
    else:
        case.verify_deadline = due
    s.add(case)
    s.flush()
    assert case.id is not None
    for old in s.exec(select(SlaClock).where(SlaClock.case_id == case.id, col(SlaClock.stopped_at).is_(None))):
        old.stopped_at, old.outcome = start, "cancelled"  # one clock per case here, whatever else started one
        s.add(old)
    clock = SlaClock(
        case_id=case.id,
        kind=kind,
        department_code=department,
        limit_amount=amount,
        limit_unit=unit,
        started_at=start,
        due_at=due,
    )
    s.add(clock)
    s.flush()
    assert clock.id is not None
    return case.id, clock.id


def add_contacts(s: Session, department: str = DEPARTMENT, webhook_url: str | None = "http://127.0.0.1:9/hook") -> None:
    s.add(DepartmentContact(department_code=department, name="值班员小王", phone=DUTY_PHONE, role="duty"))
    s.add(DepartmentContact(department_code=department, name="李科长", phone=HEAD_PHONE, role="head"))
    if webhook_url:
        s.add(DepartmentWebhook(department_code=department, url=webhook_url, secret=SECRET))
    s.flush()


@dataclass
class RecordingQueue:
    """Enqueued jobs, not run (the notices' sending is tested on its own)."""

    enqueued: list[tuple[JobName, tuple[Any, ...]]] = field(default_factory=list)

    def enqueue(self, job: JobName, *args: Any) -> None:
        self.enqueued.append((job, args))

    def of(self, job: JobName) -> list[tuple[Any, ...]]:
        return [args for j, args in self.enqueued if j == job]


def ladder_events(s: Session, case_id: int) -> Counter[str]:
    """How many of each ladder event the case has (sla_warning, urge, escalate)."""
    rows = s.exec(
        select(CaseEvent.action).where(
            CaseEvent.case_id == case_id, col(CaseEvent.action).in_(["sla_warning", "urge", "escalate"])
        )
    )
    return Counter(rows)


def steps_of(s: Session, clock_id: int) -> list[str]:
    return sorted(s.exec(select(EscalationStep.step).where(EscalationStep.clock_id == clock_id)))


def case_row(s: Session, case_id: int) -> Case:
    case = s.get(Case, case_id, populate_existing=True)
    assert case is not None
    return case


@pytest.fixture
def recording_queue(env: Path) -> Iterator[RecordingQueue]:
    """The test's queue only records what is enqueued (import the fixture by this name)."""
    q = RecordingQueue()
    jobs.set_queue(q)
    yield q
    jobs.set_queue(None)
