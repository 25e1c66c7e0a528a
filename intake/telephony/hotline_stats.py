"""The hotline's own figures, read from the call sessions: callers waiting for an agent now and the longest
wait, the share of calls an agent answered within 15 seconds and the share answered at all (GB/T 33358-2016,
政府热线服务规范: answer within 15 s, at least 95 % of calls connected), abandoned calls, calls by hour
today, and voicemails waiting for an agent.

Definitions (the page shows them beside the figures):
- 进入人工队列 (offered): an inbound call the IVR put in the agents' queue (`CallSession.queued_at`, set
  when the flow answered with <Enqueue>), in the period, except those still waiting now.
- 人工接通 (answered): an agent's leg took the caller from the queue (`answered_at`: Twilio requested the
  <Queue url> on the caller's leg just before the bridge). Wait = answered_at − queued_at.
- 15 秒内接通: answered with a wait of at most 15 s. Both rates divide by the offered calls.
- 放弃 (abandoned): not answered, and the caller hung up while waiting (QueueResult `hangup`, or the call
  ended with no queue result at all). 转留言 (to voicemail): not answered, left the queue after the longest
  wait (QueueResult `leave`, HOTLINE_TWILIO_QUEUE_MAX_WAIT_SECONDS). Other results (queue-full, error …)
  count as not answered, neither abandoned nor voicemail.
- 正在等待 (waiting now): in the queue, not answered, no queue result, call not ended, queued within the
  last hour (a call whose callbacks were lost is not waiting forever).
- 来电 (calls by hour): every inbound call session started in that local hour, whether or not it reached
  the queue (many end in the IVR: a case number, a status query).
- 待处理留言 (voicemails waiting): voicemail reports whose case still waits for an agent's confirmation
  (or that have no case yet).
Calls before these columns existed (migration 0014) have no queue times and are not counted.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlmodel import Session, col, select

from cases.lifecycle import CaseStatus
from cases.models import Case, Report
from cases.settings import kernel_settings
from cases.states import UNFINISHED_REPORT_STATES, Channel
from intake.telephony.models import CallSession

ANSWER_TARGET_SECONDS = 15  # GB/T 33358-2016: answered within 15 s
CONNECTED_TARGET = 0.95  # GB/T 33358-2016: at least 95 % of calls connected
STALE_WAIT = timedelta(hours=1)
ABANDONED_RESULTS = frozenset({"hangup"})
VOICEMAIL_RESULTS = frozenset({"leave"})


@dataclass(frozen=True)
class QueuedCall:
    """What the figures need of one call that reached the agents' queue."""

    queued_at: datetime
    answered_at: datetime | None
    queue_result: str | None
    ended_at: datetime | None

    def waiting(self, now: datetime) -> bool:
        return (
            self.answered_at is None
            and self.queue_result is None
            and self.ended_at is None
            and now - self.queued_at <= STALE_WAIT
        )

    @property
    def wait_seconds(self) -> float | None:
        return (self.answered_at - self.queued_at).total_seconds() if self.answered_at else None

    @property
    def abandoned(self) -> bool:
        if self.answered_at is not None:
            return False
        return self.queue_result in ABANDONED_RESULTS or (self.queue_result is None and self.ended_at is not None)

    @property
    def to_voicemail(self) -> bool:
        return self.answered_at is None and self.queue_result in VOICEMAIL_RESULTS


@dataclass(frozen=True)
class QueueFigures:
    """The agents' queue over one period (pure arithmetic of `summarise`)."""

    offered: int
    answered: int
    answered_in_target: int
    abandoned: int
    to_voicemail: int
    other_unanswered: int
    average_wait_seconds: float | None  # of the answered calls
    longest_answered_wait_seconds: float | None

    @property
    def answered_rate(self) -> float | None:
        return self.answered / self.offered if self.offered else None

    @property
    def in_target_rate(self) -> float | None:
        return self.answered_in_target / self.offered if self.offered else None

    @property
    def abandoned_rate(self) -> float | None:
        return self.abandoned / self.offered if self.offered else None

    @property
    def meets_connected_target(self) -> bool | None:
        rate = self.answered_rate
        return None if rate is None else rate >= CONNECTED_TARGET


def summarise(calls: Iterable[QueuedCall], now: datetime) -> QueueFigures:
    """The period's figures from its queued calls (pure). Calls still waiting are left out of all counts."""
    done = [c for c in calls if not c.waiting(now)]
    waits = [w for c in done if (w := c.wait_seconds) is not None]
    answered = len(waits)
    abandoned = sum(c.abandoned for c in done)
    voicemail = sum(c.to_voicemail for c in done)
    return QueueFigures(
        offered=len(done),
        answered=answered,
        answered_in_target=sum(w <= ANSWER_TARGET_SECONDS for w in waits),
        abandoned=abandoned,
        to_voicemail=voicemail,
        other_unanswered=len(done) - answered - abandoned - voicemail,
        average_wait_seconds=sum(waits) / answered if answered else None,
        longest_answered_wait_seconds=max(waits) if waits else None,
    )


@dataclass(frozen=True)
class WaitingNow:
    callers: int
    longest_wait_seconds: float | None


def waiting_now(calls: Iterable[QueuedCall], now: datetime) -> WaitingNow:
    waits = [(now - c.queued_at).total_seconds() for c in calls if c.waiting(now)]
    return WaitingNow(len(waits), max(waits) if waits else None)


def by_hour(starts: Iterable[datetime], tz: ZoneInfo) -> list[int]:
    """Calls per local hour of the day, 0 … 23 (pure)."""
    hours = [0] * 24
    for at in starts:
        hours[at.astimezone(tz).hour] += 1
    return hours


@dataclass(frozen=True)
class Voicemails:
    waiting: int
    oldest: datetime | None


@dataclass(frozen=True)
class HotlineFigures:
    now: datetime
    day_start: datetime  # local midnight
    waiting: WaitingNow
    today: QueueFigures
    week: QueueFigures  # the last 7 days, today included
    calls_by_hour: list[int]  # inbound calls today by local hour
    queued_by_hour: list[int]  # of those, the ones that reached the agents' queue
    voicemails: Voicemails
    targets: dict[str, float] = field(
        default_factory=lambda: {"answer_seconds": ANSWER_TARGET_SECONDS, "connected": CONNECTED_TARGET}
    )

    @property
    def calls_today(self) -> int:
        return sum(self.calls_by_hour)


def _queued(session: Session, since: datetime, now: datetime) -> list[QueuedCall]:
    rows = session.exec(
        select(CallSession.queued_at, CallSession.answered_at, CallSession.queue_result, CallSession.ended_at).where(
            col(CallSession.queued_at) >= since, col(CallSession.queued_at) < now
        )
    ).all()
    return [QueuedCall(q, a, r, e) for q, a, r, e in rows if q is not None]


def _voicemails(session: Session) -> Voicemails:
    """Voicemails not yet made into a case, and those whose case waits for an agent: two reads, each from a
    partial index of its own (reports without a case, held cases), so the cost does not grow with the
    history of voice reports."""
    is_voicemail = func.coalesce(col(Report.hints)["voicemail"].as_boolean(), False)
    voice = (Report.channel == Channel.VOICE.value, is_voicemail)
    loose = session.exec(
        select(func.count(), func.min(Report.received_at)).where(
            col(Report.case_id).is_(None), col(Report.processing_status).in_(UNFINISHED_REPORT_STATES), *voice
        )
    ).one()
    held = session.exec(
        select(func.count(), func.min(Report.received_at))
        .select_from(Case)
        .join(Report, col(Report.case_id) == col(Case.id))
        .where(col(Case.needs_review).is_(True), col(Case.status) == CaseStatus.REGISTERED.value, *voice)
    ).one()
    oldest = [at for _, at in (loose, held) if at is not None]
    return Voicemails(int(loose[0] or 0) + int(held[0] or 0), min(oldest) if oldest else None)


def local_midnight(now: datetime, tz: ZoneInfo) -> datetime:
    return now.astimezone(tz).replace(hour=0, minute=0, second=0, microsecond=0)


def hotline_figures(session: Session, now: datetime) -> HotlineFigures:
    """Every figure of the hotline page (a handful of indexed range reads: ix_call_session_queued_at,
    ix_call_session_started_at)."""
    tz = ZoneInfo(kernel_settings().timezone)
    day_start = local_midnight(now, tz)
    week_start = day_start - timedelta(days=6)
    week = _queued(session, min(week_start, now - STALE_WAIT), now)
    today = [c for c in week if c.queued_at >= day_start]
    starts: Sequence[datetime] = session.exec(
        select(CallSession.started_at).where(
            col(CallSession.started_at) >= day_start,
            col(CallSession.started_at) < now,
            CallSession.direction == "inbound",
        )
    ).all()
    return HotlineFigures(
        now=now,
        day_start=day_start,
        waiting=waiting_now(week, now),
        today=summarise(today, now),
        week=summarise([c for c in week if c.queued_at >= week_start], now),
        calls_by_hour=by_hour(starts, tz),
        queued_by_hour=by_hour((c.queued_at for c in today), tz),
        voicemails=_voicemails(session),
    )
