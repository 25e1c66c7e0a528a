"""A few weeks of a small city's cases made through the real lifecycle moves at chosen moments (so the SLA
clocks start, stop met or late, and count returns, reopens and extensions as in production): for the
dashboard's tests on SQLite and PostgreSQL."""

from __future__ import annotations

import random
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

from sqlmodel import Session, col, select

from cases.lifecycle import Action
from cases.models import Case, CaseEvent, Category, Department, Grid, Report
from cases.service import apply_action, open_case
from routing.dashboard.models import DashIntakeDay, DashRateDay
from routing.dashboard.rates import Counters
from routing.models import SlaClock

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


def stored_intake(s: Session) -> Counter[tuple[str, str]]:
    out: Counter[tuple[str, str]] = Counter()
    for row in s.exec(select(DashIntakeDay)):
        out[row.dimension, row.key] += row.cases
    return out


def stored_rates(s: Session) -> dict[tuple[str, str], Counters]:
    out: dict[tuple[str, str], Counters] = {}
    for row in s.exec(select(DashRateDay)):
        c = Counters(**{n: getattr(row, n) for n in Counters.__dataclass_fields__})
        out.setdefault((row.dimension, row.key), Counters()).add(c)
    return out


def independent_count(s: Session) -> tuple[Counter[str], dict[str, Counters]]:
    """Channel intake and the department counters, counted row by row in Python (no shared SQL)."""
    channels: Counter[str] = Counter()
    for case in s.exec(select(Case)):
        first = s.exec(select(Report).where(Report.case_id == case.id).order_by(col(Report.id))).first()
        channels[first.channel if first else ""] += 1
    per: dict[str, Counters] = {}
    for clock in s.exec(select(SlaClock)):
        c = per.setdefault(clock.department_code or "", Counters())
        if clock.kind == "sign":
            c.dispatched += 1
        if clock.outcome == "returned":
            c.returned += 1
        elif clock.outcome in ("met", "late") and clock.kind in ("sign", "handle"):
            setattr(c, f"{clock.kind}_{clock.outcome}", getattr(c, f"{clock.kind}_{clock.outcome}") + 1)
    for ev, case in s.exec(select(CaseEvent, Case).join(Case, col(Case.id) == col(CaseEvent.case_id))):
        c = per.setdefault(case.department_code or "", Counters())
        c.reopened += ev.action == "reopen"
        c.extended += ev.action == "extend"
        if ev.action == "escalate" and ev.data.get("supervision") in ("yellow", "red"):
            setattr(c, ev.data["supervision"], getattr(c, ev.data["supervision"]) + 1)
        if ev.data.get("rating_code"):
            c.rated += 1
            c.satisfied += ev.data["rating_code"] in ("satisfied", "basic")
    return channels, {k: v for k, v in per.items() if not v.is_empty()}
