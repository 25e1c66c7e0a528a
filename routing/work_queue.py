"""The agents' work queue: everything that needs a person, as one list (a read model: it writes nothing).

Four sources, each one indexed query with its filters, order and LIMIT in SQL, merged here:

- **held cases** (`Case.needs_review` and still 已立案): the confidence gate or a routing rule kept them
  from being dispatched (`routing.pipeline`). Their first report says what kind of item they are: a
  camera alert (channel camera), a voicemail (`hints.voicemail`, recording and transcript), or a report
  held for any other reason. Why it was held is the reason of its `hold_for_agent` event.
- **SMS follow-ups awaiting an answer**: every inbound text gets its automatic reply from the SMS flow,
  so what waits for a person is a resident's follow-up to a case past the agents' hold that no hotline
  person has acted on since (defined and queried by `intake.telephony.followups`, which routing may not
  import: the console passes it in as a `FollowUpSource`). Texts older than `sms_days` drop out.
- **returned cases** (status 已退单): a department sent them back as not theirs (退单, with a reason code
  and text, `routing.department.return_case`); the agent dispatches them again from the case page — except
  a case returned twice, which waits for a supervisor's 审定 and is shown as such. `ix_case_status` serves
  them (a returned case waits for the hotline, so there are few).
- **reports the pipeline could not turn into a case**: `failed` (out of attempts, until someone retries),
  and `pending`/`processing` ones whose last attempt is older than the sweeper's delay plus one sweep
  interval (the sweeper should have taken them up again: something is stuck).

Every query is bounded by its LIMIT on an index (migration 0009_queue_indexes), never by the number of
cases. The counts per kind stop at `COUNT_CAP`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from sqlalchemy import and_, func, literal, or_, true
from sqlalchemy import case as sql_case
from sqlmodel import Session, col, select

from cases.lifecycle import Action, CaseStatus
from cases.models import Case, CaseEvent, Category, Grid, Report
from cases.reference import MATTER, reference_names
from cases.settings import kernel_settings
from cases.states import UNFINISHED_REPORT_STATES, Channel, EventKind, ReportState
from routing.clocks import planned_deadlines
from routing.department import RETURN_REASONS, needs_ruling
from routing.sla import remaining_fraction

COUNT_CAP = 100  # "100+" is all an agent needs to know; a higher cap costs a longer scan
VOICEMAIL = "voicemail"  # a pseudo-channel: voice reports that are recordings
HELD = CaseStatus.REGISTERED.value
RETURNED = CaseStatus.RETURNED.value


class QueueKind(StrEnum):
    HELD = "held"  # held by the confidence gate or a routing rule
    CAMERA = "camera"  # a camera alert held for review
    VOICEMAIL = "voicemail"
    SMS = "sms"  # a resident's follow-up text awaiting an answer
    FAILED = "failed"  # a report without a case: failed, or stuck
    RETURNED = "returned"  # 退单: a department sent it back; the agent dispatches it again (or 审定 waits)


KIND_LABELS_ZH = {
    QueueKind.HELD: "待确认",
    QueueKind.CAMERA: "摄像头告警",
    QueueKind.VOICEMAIL: "语音留言",
    QueueKind.SMS: "短信待回复",
    QueueKind.FAILED: "处理失败",
    QueueKind.RETURNED: "已退单",
}


class Due(StrEnum):
    OK = "ok"
    WARN = "warn"
    BAD = "bad"
    NONE = "none"


class Sort(StrEnum):
    OLDEST = "oldest"
    DEADLINE = "deadline"
    CONFIDENCE = "confidence"


class Age(StrEnum):
    ANY = ""
    HOUR = "1h"  # arrived within the hour
    DAY = "1d"  # within a day
    OLDER = "older"  # more than a day ago


# The pipeline's hold reasons (routing.pipeline._needs_review), as the agent reads them.
REASONS_ZH = {
    "channel asks for an agent's confirmation": "渠道要求人工确认",
    "no category": "未识别分类",
    "no department for the category": "该分类无承办单位",
    "no grid": "未定位网格",
    "routing rule holds it for an agent": "派遣规则要求人工确认",
    "classifier confidence below the threshold": "分类置信度低",  # before rule sets: older cases say it
    "department confidence below the threshold": "派遣置信度低（承办单位不确定）",
    "classifier confidence below the category's own threshold": "该类别要求人工确认（置信度低于类别门槛）",
    "grid confidence below the threshold": "网格定位置信度低",
}

_ITEM = re.compile(r"(case|report):([1-9][0-9]{0,9})")


@dataclass(frozen=True)
class QueueFilter:
    """What the agent asked for. Codes are checked by the view's form model; unknown ones match nothing."""

    channel: str | None = None  # a Channel value, or "voicemail"
    kind: QueueKind | None = None
    major_code: str | None = None  # taxonomy group (Category.major_code)
    street_code: str | None = None  # Grid.street_code
    community_code: str | None = None  # Grid.community_code
    age: Age = Age.ANY
    sort: Sort = Sort.OLDEST
    limit: int = 100
    sms_days: int = 14


@dataclass(frozen=True)
class QueueItem:
    kind: QueueKind
    key: str  # the claim key: "case:123" or "report:45" (safe in a URL path)
    channel: str  # a Channel value, or "voicemail"
    received_at: datetime
    title: str
    category_code: str | None
    category_name: str | None
    confidence: float | None
    grid_code: str | None
    grid_name: str | None
    street: str
    community: str
    deadline: datetime | None
    due: Due
    case_number: str | None  # the case to open; None for a report without one
    reason: str  # why it waits for a person, in Chinese
    report_id: int | None = None


@dataclass(frozen=True)
class WorkQueue:
    items: list[QueueItem]
    counts: dict[QueueKind, int] = field(default_factory=dict)  # each at most COUNT_CAP


@dataclass(frozen=True)
class ItemRef:
    """What an item key names, if it exists."""

    key: str
    case_id: int | None = None
    case_number: str | None = None
    report_id: int | None = None


class FollowUpRow(Protocol):
    """One resident's follow-up text awaiting an answer (intake.telephony.followups.FollowUp)."""

    @property
    def text(self) -> str: ...
    @property
    def received_at(self) -> datetime: ...
    @property
    def report(self) -> Report: ...
    @property
    def case(self) -> Case: ...


class FollowUpSource(Protocol):
    """The SMS source of the queue: rows and a capped count, both narrowed by clauses on Case."""

    def rows(
        self,
        session: Session,
        *,
        case_clauses: Sequence[Any],
        since: datetime,
        after: datetime | None,
        before: datetime | None,
        limit: int,
    ) -> Sequence[FollowUpRow]: ...

    def count(
        self,
        session: Session,
        *,
        case_clauses: Sequence[Any],
        since: datetime,
        after: datetime | None,
        before: datetime | None,
        cap: int,
    ) -> int: ...


def item_key(kind: str, ident: int) -> str:
    return f"{kind}:{ident}"


def report_of(session: Session, report_id: int | None) -> Report | None:
    return session.get(Report, report_id) if report_id is not None else None


def parse_item(key: str) -> tuple[str, int] | None:
    m = _ITEM.fullmatch(key)
    return (m.group(1), int(m.group(2))) if m and int(m.group(2)) < 2**31 else None


def find_item(session: Session, key: str) -> ItemRef | None:
    parsed = parse_item(key)
    if parsed is None:
        return None
    kind, ident = parsed
    if kind == "case":
        case = session.get(Case, ident)
        return ItemRef(key, case_id=ident, case_number=case.number) if case else None
    report = session.get(Report, ident)
    if report is None:
        return None
    if report.case_id is not None:
        case = session.get(Case, report.case_id)
        if case is not None:
            return ItemRef(key, case_id=case.id, case_number=case.number, report_id=ident)
    return ItemRef(key, report_id=ident)


# --- the queries ------------------------------------------------------------------------------------


def _first_report_id() -> Any:
    return select(func.min(Report.id)).where(col(Report.case_id) == col(Case.id)).correlate(Case).scalar_subquery()


def _is_voicemail() -> Any:
    return func.coalesce(col(Report.hints)["voicemail"].as_boolean(), False)


def _channel_clause(channel: str | None) -> Any:
    if channel is None:
        return true()
    if channel == VOICEMAIL:
        return and_(col(Report.channel) == Channel.VOICE.value, _is_voicemail())
    if channel == Channel.VOICE.value:
        return and_(col(Report.channel) == channel, ~_is_voicemail())
    return col(Report.channel) == channel


def _kind_clause(kind: QueueKind | None) -> Any:
    if kind is None:
        return true()
    if kind == QueueKind.CAMERA:
        return col(Report.channel) == Channel.CAMERA.value
    if kind == QueueKind.VOICEMAIL:
        return and_(col(Report.channel) == Channel.VOICE.value, _is_voicemail())
    return and_(func.coalesce(col(Report.channel), "") != Channel.CAMERA.value, ~_is_voicemail())


def _place_clauses(f: QueueFilter) -> list[Any]:
    clauses = []
    if f.major_code:
        group = select(Category.code).where(Category.kind == MATTER, Category.major_code == f.major_code)
        clauses.append(col(Case.category_code).in_(group))
    if f.street_code:
        clauses.append(col(Case.grid_code).in_(select(Grid.code).where(Grid.street_code == f.street_code)))
    if f.community_code:
        clauses.append(col(Case.grid_code).in_(select(Grid.code).where(Grid.community_code == f.community_code)))
    return clauses


def _age_clause(column: Any, age: Age, now: datetime) -> Any:
    if age == Age.HOUR:
        return column >= now - timedelta(hours=1)
    if age == Age.DAY:
        return column >= now - timedelta(days=1)
    if age == Age.OLDER:
        return column < now - timedelta(days=1)
    return true()


def _case_order(sort: Sort) -> list[Any]:
    created = col(Case.created_at)
    if sort == Sort.DEADLINE:
        return [func.coalesce(col(Case.dispatch_deadline), col(Case.handle_deadline)).asc().nulls_last(), created]
    if sort == Sort.CONFIDENCE:
        return [col(Case.category_confidence).asc().nulls_first(), created]
    return [created, col(Case.id)]


def held_query(f: QueueFilter, now: datetime) -> Any:
    """Held cases with their first report: the partial index on held cases' `created_at` drives it."""
    q = (
        select(Case, Report)
        # Outer: a held case that has no report (opened by hand) must not vanish from the queue.
        .outerjoin(Report, col(Report.id) == _first_report_id())
        .where(col(Case.needs_review).is_(True), col(Case.status) == HELD)
        .where(_channel_clause(f.channel), _kind_clause(f.kind), _age_clause(col(Case.created_at), f.age, now))
    )
    for clause in _place_clauses(f):
        q = q.where(clause)
    return q


def returned_query(f: QueueFilter, now: datetime) -> Any:
    """Returned cases with their first report (status index), under the same channel, place and age
    filters as held cases (age: since the case last moved, i.e. its return)."""
    q = (
        select(Case, Report)
        .outerjoin(Report, col(Report.id) == _first_report_id())
        .where(col(Case.status) == RETURNED)
        .where(_channel_clause(f.channel), _age_clause(col(Case.updated_at), f.age, now))
    )
    for clause in _place_clauses(f):
        q = q.where(clause)
    return q


OPEN_STATES = UNFINISHED_REPORT_STATES


def failed_query(f: QueueFilter, now: datetime) -> Any:
    """Reports without a case: failed, or stuck longer than the sweeper should have let them be."""
    ks = kernel_settings()
    cutoff = now - timedelta(seconds=ks.sweep_delay_seconds + ks.sweep_interval_seconds)
    q = select(Report).where(
        col(Report.processing_status).in_(OPEN_STATES),
        col(Report.case_id).is_(None),
        or_(
            col(Report.processing_status) == ReportState.FAILED.value,
            func.coalesce(col(Report.last_attempt_at), col(Report.received_at)) < cutoff,
        ),
        _channel_clause(f.channel),
        _age_clause(col(Report.received_at), f.age, now),
    )
    return q


def _wants(f: QueueFilter, kind: QueueKind) -> bool:
    if f.kind is not None and f.kind != kind:
        return False
    if kind == QueueKind.FAILED:  # no category or grid yet: a category or place filter excludes them
        return not (f.major_code or f.street_code or f.community_code)
    if kind == QueueKind.SMS:
        return f.channel in (None, Channel.SMS.value)
    return True


def _wants_held(f: QueueFilter) -> bool:
    return any(_wants(f, k) for k in (QueueKind.HELD, QueueKind.CAMERA, QueueKind.VOICEMAIL))


# --- rows to items ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Places:
    grids: dict[str, Grid]


def _places(session: Session, codes: Iterable[str | None]) -> _Places:
    wanted = sorted({c for c in codes if c})
    if not wanted:
        return _Places({})
    rows = session.exec(select(Grid).where(col(Grid.code).in_(wanted))).all()
    return _Places({g.code: g for g in rows})


def _hold_reasons(session: Session, case_ids: list[int]) -> dict[int, str]:
    if not case_ids:
        return {}
    rows = session.exec(
        select(CaseEvent.case_id, CaseEvent.reason)
        .where(col(CaseEvent.case_id).in_(case_ids), CaseEvent.action == EventKind.HOLD_FOR_AGENT.value)
        .order_by(col(CaseEvent.at), col(CaseEvent.id))
    ).all()
    return {cid: reason or "" for cid, reason in rows}  # the latest hold wins


def reason_zh(reason: str) -> str:
    parts = [p.strip() for p in reason.split(";") if p.strip()]
    return "；".join(REASONS_ZH.get(p, p) for p in parts)


def due_class(start: datetime, deadline: datetime | None, now: datetime) -> Due:
    if deadline is None:
        return Due.NONE
    left = remaining_fraction(start, deadline, now)
    if deadline <= now:
        return Due.BAD
    return Due.WARN if left < 0.3 else Due.OK


def _case_deadline(case: Case) -> datetime | None:
    """The deadline the case runs against: stored ones first; a held case has none stored yet (its clocks
    start at dispatch), so its 签收 deadline is what its SLA policy gives, counted from 立案."""
    stored = case.dispatch_deadline or case.handle_deadline
    if stored is not None:
        return stored
    try:
        return planned_deadlines(case.category_code, case.grade, case.created_at).sign_due
    except Exception:  # no policies or calendar at hand (the database is away): no colour rather than no queue
        return None


def _channel_of(report: Report | None) -> str:
    if report is None:
        return ""
    return VOICEMAIL if report.channel == Channel.VOICE.value and report.hints.get("voicemail") else report.channel


def _case_kind(report: Report | None) -> QueueKind:
    if report is None:
        return QueueKind.HELD
    if report.channel == Channel.CAMERA.value:
        return QueueKind.CAMERA
    return QueueKind.VOICEMAIL if _channel_of(report) == VOICEMAIL else QueueKind.HELD


def _case_item(
    case: Case, report: Report | None, places: _Places, kind: QueueKind, reason: str, now: datetime
) -> QueueItem:
    names = reference_names()
    grid = places.grids.get(case.grid_code or "")
    deadline = _case_deadline(case)
    assert case.id is not None
    return QueueItem(
        kind=kind,
        key=item_key("case", case.id),
        channel=_channel_of(report),
        received_at=case.created_at,
        title=case.title or (report.text[:60] if report else ""),
        category_code=case.category_code,
        category_name=names.category(case.category_code),
        confidence=case.category_confidence,
        grid_code=case.grid_code,
        grid_name=grid.name if grid else names.grid(case.grid_code),
        street=grid.street if grid else "",
        community=grid.community if grid else "",
        deadline=deadline,
        due=due_class(case.created_at, deadline, now),
        case_number=case.number,
        reason=reason,
        report_id=report.id if report else None,
    )


def _failed_item(report: Report, now: datetime) -> QueueItem:
    assert report.id is not None
    failed = report.processing_status == ReportState.FAILED.value
    reason = "处理失败，已停止重试" if failed else "长时间未处理（可能卡住）"
    if report.last_error:
        reason += f"：{report.last_error[:80]}"
    return QueueItem(
        kind=QueueKind.FAILED,
        key=item_key("report", report.id),
        channel=_channel_of(report),
        received_at=report.received_at,
        title=report.text[:60] or "（无文字内容）",
        category_code=None,
        category_name=None,
        confidence=None,
        grid_code=None,
        grid_name=None,
        street="",
        community="",
        deadline=None,
        due=Due.BAD if failed else Due.WARN,
        case_number=None,
        reason=reason,
        report_id=report.id,
    )


def _sort_key(sort: Sort) -> Any:
    if sort == Sort.DEADLINE:
        return lambda i: (i.deadline is None, i.deadline or i.received_at, i.received_at)
    if sort == Sort.CONFIDENCE:
        return lambda i: (i.confidence is not None, i.confidence or 0.0, i.received_at)
    return lambda i: (i.received_at, i.key)


def _count(session: Session, q: Any) -> int:
    capped = q.with_only_columns(literal(1)).limit(COUNT_CAP).subquery()
    return int(session.exec(select(func.count()).select_from(capped)).one())


def _held_items(session: Session, f: QueueFilter, now: datetime) -> list[QueueItem]:
    if not _wants_held(f):
        return []
    rows = session.exec(held_query(f, now).order_by(*_case_order(f.sort)).limit(f.limit)).all()
    reasons = _hold_reasons(session, [c.id for c, _ in rows if c.id is not None])
    places = _places(session, (c.grid_code for c, _ in rows))
    items = []
    for case, report in rows:
        kind = _case_kind(report)
        reason = reason_zh(reasons.get(case.id or 0, "")) or "待坐席确认"
        if kind == QueueKind.VOICEMAIL and report is not None:
            reason = _voicemail_note(report) + reason
        items.append(_case_item(case, report, places, kind, reason, now))
    return items


def _age_bounds(age: Age, now: datetime) -> tuple[datetime | None, datetime | None]:
    if age == Age.HOUR:
        return now - timedelta(hours=1), None
    if age == Age.DAY:
        return now - timedelta(days=1), None
    if age == Age.OLDER:
        return None, now - timedelta(days=1)
    return None, None


def _followup_args(f: QueueFilter, now: datetime) -> dict[str, Any]:
    after, before = _age_bounds(f.age, now)
    return {
        "case_clauses": _place_clauses(f),
        "since": now - timedelta(days=f.sms_days),
        "after": after,
        "before": before,
    }


def _voicemail_note(report: Report) -> str:
    seconds = str(report.raw.get("recording_duration") or "")
    length = f" {seconds} 秒" if seconds.isdigit() else ""
    heard = "已转写" if report.raw.get("transcript") else "待转写"
    return f"录音{length}（{heard}）；"


def _sms_items(session: Session, f: QueueFilter, now: datetime, src: FollowUpSource | None) -> list[QueueItem]:
    if src is None or not _wants(f, QueueKind.SMS):
        return []
    rows = src.rows(session, limit=f.limit, **_followup_args(f, now))
    places = _places(session, (r.case.grid_code for r in rows))
    items = []
    for r in rows:
        item = _case_item(r.case, r.report, places, QueueKind.SMS, "市民短信补充，待回复", now)
        items.append(_replace(item, channel=Channel.SMS.value, received_at=r.received_at, title=r.text[:60]))
    return items


def _replace(item: QueueItem, **changes: Any) -> QueueItem:
    from dataclasses import replace

    return replace(item, **changes)


@dataclass(frozen=True)
class _Return:
    at: datetime
    code: str | None
    text: str | None


def _latest_returns(session: Session, case_ids: list[int]) -> dict[int, _Return]:
    if not case_ids:
        return {}
    rows = session.exec(
        select(CaseEvent)
        .where(col(CaseEvent.case_id).in_(case_ids), CaseEvent.action == Action.RETURN.value)
        .order_by(col(CaseEvent.at), col(CaseEvent.id))
    ).all()
    found = {}
    for e in rows:  # the latest return wins
        code = e.data.get("reason_code")
        found[e.case_id] = _Return(e.at, str(code) if code else None, e.data.get("reason_text") or e.reason)
    return found


def return_reason_zh(back: _Return | None, case: Case) -> str:
    """退单原因：不属于本单位职责：该路段由市政处管养 — and, for a case a supervisor must rule on, say so."""
    if back is None:
        words = "承办单位退单"
    else:
        code = RETURN_REASONS.get(back.code or "", back.code or "")
        words = "退单原因：" + "：".join(p for p in (code, back.text or "") if p)
    if needs_ruling(case):
        return f"第 {case.return_count} 次退单，待班长审定，不能直接重新派遣；{words}"
    return words


def _returned_items(session: Session, f: QueueFilter, now: datetime) -> list[QueueItem]:
    if not _wants(f, QueueKind.RETURNED):
        return []
    order = [col(Case.updated_at), col(Case.id)] if f.sort != Sort.CONFIDENCE else _case_order(f.sort)
    rows = session.exec(returned_query(f, now).order_by(*order).limit(f.limit)).all()
    backs = _latest_returns(session, [c.id for c, _ in rows if c.id is not None])
    places = _places(session, (c.grid_code for c, _ in rows))
    items = []
    for case, report in rows:
        back = backs.get(case.id or 0)
        item = _case_item(case, report, places, QueueKind.RETURNED, return_reason_zh(back, case), now)
        since = back.at if back is not None else case.updated_at
        deadline = _redispatch_deadline(case, since)
        items.append(_replace(item, received_at=since, deadline=deadline, due=due_class(since, deadline, now)))
    return items


def _redispatch_deadline(case: Case, since: datetime) -> datetime | None:
    """A returned case waits for the hotline as a held one does: its policy's 签收 time, from the return."""
    if needs_ruling(case):
        return None
    try:
        return planned_deadlines(case.category_code, case.grade, since).sign_due
    except Exception:  # no policies or calendar at hand (the database is away): no colour rather than no queue
        return None


def _failed_items(session: Session, f: QueueFilter, now: datetime) -> list[QueueItem]:
    if not _wants(f, QueueKind.FAILED):
        return []
    rows = session.exec(failed_query(f, now).order_by(col(Report.received_at)).limit(f.limit)).all()
    return [_failed_item(r, now) for r in rows]


def work_queue(session: Session, f: QueueFilter, now: datetime, followups: FollowUpSource | None = None) -> WorkQueue:
    """The queue as the agent filtered and sorted it: at most `f.limit` items, and the count of each kind
    under the same filters (capped at COUNT_CAP). `followups` brings the SMS source (the telephony
    adapter's read model, which routing may not import: the console passes it in)."""
    held = _held_items(session, f, now) + _returned_items(session, f, now)
    items = held + _sms_items(session, f, now, followups) + _failed_items(session, f, now)
    items.sort(key=_sort_key(f.sort))
    return WorkQueue(items[: f.limit], queue_counts(session, f, now, followups))


def queue_counts(
    session: Session, f: QueueFilter, now: datetime, followups: FollowUpSource | None = None
) -> dict[QueueKind, int]:
    counts = {kind: 0 for kind in QueueKind}
    held = _held_counts(session, f, now)
    for kind in QueueKind:
        if not _wants(f, kind):
            continue
        one = QueueFilter(**{**f.__dict__, "kind": kind})
        if kind == QueueKind.SMS:
            counts[kind] = followups.count(session, cap=COUNT_CAP, **_followup_args(one, now)) if followups else 0
        elif kind == QueueKind.FAILED:
            counts[kind] = _count(session, failed_query(one, now))
        elif kind == QueueKind.RETURNED:
            counts[kind] = _count(session, returned_query(one, now))
        else:
            counts[kind] = min(held.get(kind, 0), COUNT_CAP)
    return counts


def _kind_of_first_report() -> Any:
    """The queue kind of a held case in SQL, as `_case_kind` tells it in Python."""
    return sql_case(
        (col(Report.channel) == Channel.CAMERA.value, QueueKind.CAMERA.value),
        (and_(col(Report.channel) == Channel.VOICE.value, _is_voicemail()), QueueKind.VOICEMAIL.value),
        else_=QueueKind.HELD.value,
    )


def _held_counts(session: Session, f: QueueFilter, now: datetime) -> dict[QueueKind, int]:
    """Held cases per kind in one grouped pass over the held cases (three capped counts walked them
    twice: a rare kind never reaches its cap). The work is the held backlog, never the case history."""
    if not _wants_held(f):
        return {}
    kind = _kind_of_first_report().label("kind")
    q = held_query(QueueFilter(**{**f.__dict__, "kind": None}), now)
    rows = session.exec(q.with_only_columns(kind, func.count()).group_by(kind)).all()
    return {QueueKind(k): int(n) for k, n in rows}


# --- choices for the filter form -------------------------------------------------------------------


@dataclass(frozen=True)
class Choices:
    groups: list[tuple[str, str]]  # (major_code, major_name) of the matter taxonomy
    streets: list[tuple[str, str]]  # (street_code, street)
    communities: list[tuple[str, str, str]]  # (community_code, community, street)


def filter_choices(session: Session) -> Choices:
    groups = session.exec(
        select(Category.major_code, Category.major_name).where(Category.kind == MATTER).distinct()
    ).all()
    places = session.exec(select(Grid.street_code, Grid.street, Grid.community_code, Grid.community).distinct()).all()
    return Choices(
        groups=sorted((c, n) for c, n in groups if c),
        streets=sorted({(s, sn) for s, sn, _, _ in places if s}),
        communities=sorted({(c, cn, sn) for _, sn, c, cn in places if c}),
    )
