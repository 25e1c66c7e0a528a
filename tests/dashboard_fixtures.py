"""A few weeks of a small city's cases made through the real lifecycle moves at chosen moments (so the SLA
clocks start, stop met or late, and count returns, reopens and extensions as in production): for the
dashboard's tests on SQLite and PostgreSQL."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta

from sqlmodel import Session, col, select

from cases.lifecycle import Action
from cases.models import Case, Category, Department, Grid, Report
from cases.service import apply_action, open_case

START = datetime(2026, 11, 2, 0, 30, tzinfo=UTC)  # 08:30 city time, a Monday
CHANNELS = ["voice", "sms", "web", "camera", "api"]
RATINGS = [("satisfied", "满意"), ("basic", "基本满意"), ("unsatisfied", "不满意")]


def _reference(s: Session) -> tuple[list[str], list[str], list[str]]:
    cats = list(s.exec(select(Category.code).where(Category.kind == "事件", col(Category.active).is_(True))))
    grids = list(s.exec(select(Grid.code)))
    depts = list(s.exec(select(Department.code).where(col(Department.active).is_(True))))
    return cats, grids, depts


def _hours(rng: random.Random, lo: float, hi: float) -> timedelta:
    return timedelta(hours=rng.uniform(lo, hi))


def _walk(s: Session, case: Case, rng: random.Random, depts: list[str], t: datetime) -> None:
    """One case's life after 立案, from moment `t`."""
    t += _hours(rng, 0.1, 3)
    apply_action(s, case, Action.DISPATCH, "agent:li", department_code=rng.choice(depts), at=t)
    if rng.random() < 0.2:
        t += _hours(rng, 0.2, 30)
        apply_action(s, case, Action.RETURN, "dept:wang", reason="非本单位职责", at=t)
        if rng.random() < 0.5:
            return
        t += _hours(rng, 0.5, 5)
        apply_action(s, case, Action.DISPATCH, "agent:li", department_code=rng.choice(depts), at=t)
    if rng.random() < 0.1:
        return  # still waiting to be signed for
    t += _hours(rng, 0.1, 12)
    apply_action(s, case, Action.ACCEPT, "dept:wang", at=t)
    if rng.random() < 0.15:
        t += _hours(rng, 1, 20)
        apply_action(s, case, Action.EXTEND, "agent:li", reason="现场施工需要时间", data={"working_days": 1}, at=t)
    if rng.random() < 0.15:
        t += _hours(rng, 1, 20)
        card = rng.choice(["yellow", "red"])
        apply_action(s, case, Action.ESCALATE, "system:escalation", reason="超时督办", supervision=card, at=t)
    if rng.random() < 0.1:
        return
    t += _hours(rng, 2, 90)
    apply_action(s, case, Action.HANDLE, "dept:wang", at=t)
    t += _hours(rng, 1, 20)
    apply_action(s, case, Action.VERIFY, "grid:zhao", at=t)
    if rng.random() < 0.2:
        return
    code, label = rng.choice(RATINGS)
    t += _hours(rng, 1, 30)
    data = {"rating": label, "rating_code": code, "channel": "web"}
    if code == "unsatisfied":
        apply_action(s, case, Action.REOPEN, "resident:web", reason="市民评价不满意", data=data, at=t)
    else:
        apply_action(s, case, Action.SURVEY, "resident:web", reason=f"市民评价：{label}", data=data, at=t)


def make_history(s: Session, *, cases: int = 60, days: int = 20, seed: int = 16, start: datetime = START) -> list[int]:
    """`cases` cases opened over `days` days from `start`, each walked some way through its life."""
    rng = random.Random(seed)
    cats, grids, depts = _reference(s)
    ids = []
    for i in range(cases):
        created = start + timedelta(hours=rng.uniform(0, days * 24))
        grid = rng.choice(grids) if rng.random() > 0.05 else None
        case = open_case(
            s, actor="system:pipeline", title=f"测试工单{i}", category_code=rng.choice(cats), grid_code=grid,
            created_at=created,
        )  # fmt: skip
        channel = rng.choice(CHANNELS)
        s.add(
            Report(channel=channel, external_id=uuid.uuid4().hex, text=case.title, case_id=case.id, received_at=created)
        )
        if rng.random() < 0.2:  # a second reporter later (一事多诉): the first report's channel counts
            s.add(Report(channel="web", external_id=uuid.uuid4().hex, text="同上", case_id=case.id))
        t = created + timedelta(minutes=1)
        apply_action(s, case, Action.REGISTER, "system:pipeline", at=t)
        if rng.random() < 0.9:
            _walk(s, case, rng, depts, t)
        assert case.id is not None
        ids.append(case.id)
    s.flush()
    return ids
