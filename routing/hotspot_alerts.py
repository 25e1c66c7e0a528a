"""The periodic hotspot sweep (job HOTSPOTS) and the supervisors' SMS of a new hotspot (job
SEND_HOTSPOT_SMS): at most one text per supervisor per (grid, category, episode), however many workers
sweep at once.

An episode opens the first time a pair tests hot and stays open while it keeps testing hot; it ends once
the pair has not tested hot for a whole window (HOTLINE_HOTSPOT_WINDOW_DAYS), so a pair hovering at the
threshold is one episode, not a text every sweep. Exactly once: the sweep inserts the episode with
`INSERT … ON CONFLICT DO NOTHING RETURNING id` on the partial unique index of open episodes
(uq_hotspot_episode_open); only the run whose insert returned an id enqueues the SMS job, after its commit.
The job texts each active supervisor with a phone (`JobName.SUPERVISOR_PHONES`, the accounts' numbers)
through telephony's SMS path (`JobName.SEND_DEPARTMENT_SMS`, run in-process: a number is never a queued
job's argument) under the key `hotspot:{episode}:{person}`, which Twilio's side of that path sends once.
Numbers are never logged.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col

from cases import providers
from cases.db import is_sqlite, session_scope
from cases.jobnames import JobName
from cases.jobs import enqueue_after_commit, run_now
from cases.models import utcnow
from cases.reference import reference_names
from cases.texts import SMS_SIGNATURE
from routing.hotspot_board import current_test, hot_pairs
from routing.hotspots import HotspotTest, Verdict
from routing.models import HotspotEpisode
from routing.settings import hotspot_settings

log = logging.getLogger(__name__)

SMS_PURPOSE = "hotspot"


class _LastRun:
    at: float = 0.0


LAST_RUN = providers.Key("hotspot sweep last run", _LastRun)


def _claim_episode(session: Session, grid: str, category: str, verdict: Verdict, now: datetime) -> int | None:
    """Insert the pair's open episode; its id when this run inserted it, None when one was open already."""
    dialect: Any = sqlite if is_sqlite(session) else postgresql
    table: Any = HotspotEpisode.__table__  # type: ignore[attr-defined]
    stmt = (
        dialect.insert(table)
        .values(
            grid_code=grid,
            category_code=category,
            started_at=now,
            last_seen_at=now,
            count=verdict.count,
            expected=verdict.expected,
            p_value=verdict.p_value,
            sms_sent=0,
        )
        .on_conflict_do_nothing(index_elements=["grid_code", "category_code"], index_where=table.c.ended_at.is_(None))
        .returning(table.c.id)
    )
    inserted: int | None = session.execute(stmt).scalar_one_or_none()
    return inserted


def _seen_again(session: Session, grid: str, category: str, verdict: Verdict, now: datetime) -> None:
    session.execute(
        update(HotspotEpisode)
        .where(
            col(HotspotEpisode.grid_code) == grid,
            col(HotspotEpisode.category_code) == category,
            col(HotspotEpisode.ended_at).is_(None),
        )
        .values(last_seen_at=now, count=verdict.count, expected=verdict.expected, p_value=verdict.p_value)
    )


def _end_quiet_episodes(session: Session, now: datetime, test: HotspotTest) -> None:
    quiet_since = now - timedelta(days=test.window_days)
    session.execute(
        update(HotspotEpisode)
        .where(col(HotspotEpisode.ended_at).is_(None), col(HotspotEpisode.last_seen_at) < quiet_since)
        .values(ended_at=now)
    )


def sweep_in(session: Session, now: datetime, test: HotspotTest, *, sms: bool) -> list[int]:
    """One sweep in the caller's transaction: open, refresh and end episodes; returns the ids of the
    episodes this run opened (whose SMS job runs after the commit)."""
    opened = []
    for grid, category, verdict in hot_pairs(session, now, test):
        episode_id = _claim_episode(session, grid, category, verdict, now)
        if episode_id is None:
            _seen_again(session, grid, category, verdict, now)
            continue
        opened.append(episode_id)
        log.info("hotspot episode %s opened: grid %s category %s (%s reports, p=%.2g)", episode_id, grid, category,
                 verdict.count, verdict.p_value)  # fmt: skip
        if sms:
            enqueue_after_commit(session, JobName.SEND_HOTSPOT_SMS, episode_id)
    _end_quiet_episodes(session, now, test)
    return opened


def sweep_hotspots(now: datetime | None = None, *, force: bool = False) -> int:
    """Job HOTSPOTS (periodic, from the sweeper): at most every HOTLINE_HOTSPOT_SWEEP_MINUTES per process
    (the test reads 8 weeks of counts). Returns how many episodes it opened."""
    settings = hotspot_settings()
    last = providers.get(LAST_RUN)
    if not force and time.monotonic() - last.at < settings.hotspot_sweep_minutes * 60 and last.at:
        return 0
    last.at = time.monotonic()
    with session_scope() as s:
        return len(sweep_in(s, now or utcnow(), current_test(), sms=settings.hotspot_sms))


def hotspot_text(episode: HotspotEpisode, window_days: int) -> str:
    names = reference_names()
    grid = names.grid(episode.grid_code) or episode.grid_code
    category = names.category(episode.category_code) or episode.category_code
    return (
        f"{SMS_SIGNATURE}热点提醒：{grid}近{window_days}天“{category}”反映{episode.count}件，"
        f"约为平常的{episode.count / episode.expected:.0f}倍（平常约{episode.expected:.1f}件），请关注。"
    )


def send_hotspot_sms(episode_id: int) -> int:
    """Job SEND_HOTSPOT_SMS: text every supervisor about a new episode; returns how many texts were sent.
    Safe twice: each person's text has its own key, sent once. A text that failed for a reason that may
    pass raises after the others were tried, so the queue tries again (those sent are not sent again)."""
    with session_scope() as s:
        episode = s.get(HotspotEpisode, episode_id)
        if episode is None or episode.notified_at is not None:
            return 0
        text = hotspot_text(episode, current_test().window_days)
    people: list[tuple[str, str]] = run_now(JobName.SUPERVISOR_PHONES) or []
    sent, retry = 0, 0
    for key, phone in people:
        try:
            run_now(JobName.SEND_DEPARTMENT_SMS, f"hotspot:{episode_id}:{key}", phone, text, None, SMS_PURPOSE)
            sent += 1
        except Exception as exc:
            permanent = bool(getattr(exc, "permanent", False))
            why = str(exc) if getattr(exc, "safe_message", False) else type(exc).__name__
            log.warning("hotspot episode %s: SMS to %s not sent: %s", episode_id, key, why)
            retry += not permanent
    with session_scope() as s:
        row = s.get(HotspotEpisode, episode_id)
        assert row is not None
        row.sms_sent = max(row.sms_sent, sent)
        if not retry:
            row.notified_at = utcnow()
        s.add(row)
    if retry:
        raise RuntimeError(f"hotspot episode {episode_id}: {retry} SMS not sent yet, will retry")
    return sent
