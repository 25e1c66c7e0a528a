"""Read model of the hotspots: every (grid, category) whose reports in the window test as far above its
own baseline (`routing.hotspots.judge`), with the cases behind it, and the episodes the sweep opened.

Counted: cases (one per 立案 report, so 一事多诉 complaints merged into another case count too: many
people reporting one pile is what a hotspot is) opened in the window or the baseline span, with a grid and
a category, except 不予立案 (rejected: not a problem of the city's). The window is the last
`window_days` × 24 hours before now, the baseline the `baseline_days` × 24 hours before that. One grouped
range scan of ix_case_created_grid_category; only pairs with at least the minimum count in the window come
back (HAVING), so the rest of the city costs nothing here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Integer, case, cast, func, tuple_
from sqlalchemy import select as wide_select  # sqlmodel's select types at most four columns
from sqlmodel import Session, col, select

from cases.lifecycle import CaseStatus
from cases.models import Case
from cases.reference import reference_names
from routing.hotspots import PRIOR_REPORTS, HotspotTest, Verdict, judge
from routing.models import HotspotEpisode
from routing.settings import hotspot_settings

CASES_SHOWN = 20  # the newest cases of a hotspot listed with it (the link to all is the console's search)


def current_test() -> HotspotTest:
    s = hotspot_settings()
    return HotspotTest(s.hotspot_window_days, s.hotspot_baseline_days, s.hotspot_alpha, s.hotspot_min_count)


@dataclass(frozen=True)
class Spans:
    window_from: datetime
    baseline_from: datetime
    now: datetime


def spans(now: datetime, test: HotspotTest) -> Spans:
    window_from = now - timedelta(days=test.window_days)
    return Spans(window_from, window_from - timedelta(days=test.baseline_days), now)


@dataclass(frozen=True)
class CaseLink:
    number: str
    title: str
    created_at: datetime
    status: str


@dataclass(frozen=True)
class Hotspot:
    grid_code: str
    grid_name: str | None
    category_code: str
    category_name: str | None
    verdict: Verdict
    cases: list[CaseLink]
    episode: HotspotEpisode | None


def pair_counts(session: Session, at: Spans, min_count: int) -> list[tuple[str, str, int, int]]:
    """(grid, category, count in the window, count in the baseline) of the pairs with at least `min_count`
    in the window."""
    in_window = func.sum(cast(case((col(Case.created_at) >= at.window_from, 1), else_=0), Integer))
    in_baseline = func.sum(cast(case((col(Case.created_at) < at.window_from, 1), else_=0), Integer))
    rows = session.exec(
        select(Case.grid_code, Case.category_code, in_window, in_baseline)
        .where(
            col(Case.created_at) >= at.baseline_from,
            col(Case.created_at) < at.now,
            col(Case.grid_code).is_not(None),
            col(Case.category_code).is_not(None),
            Case.status != CaseStatus.REJECTED.value,
        )
        .group_by(col(Case.grid_code), col(Case.category_code))
        .having(in_window >= min_count)
    ).all()
    return [(str(g), str(c), int(w or 0), int(b or 0)) for g, c, w, b in rows]


def hot_pairs(session: Session, now: datetime, test: HotspotTest) -> list[tuple[str, str, Verdict]]:
    """The pairs that test hot now, most surprising first."""
    found = []
    for grid, category, window, baseline in pair_counts(session, spans(now, test), test.min_count):
        verdict = judge(window, baseline, test)
        if verdict.hot:
            found.append((grid, category, verdict))
    return sorted(found, key=lambda t: (t[2].p_value, -t[2].count, t[0], t[1]))


def _cases(session: Session, pairs: list[tuple[str, str]], at: Spans) -> dict[tuple[str, str], list[CaseLink]]:
    """The newest CASES_SHOWN cases in the window of each pair, in one read of the window (a few days of
    cases) rather than one per hotspot."""
    if not pairs:
        return {}
    newest = (
        func.row_number()
        .over(
            partition_by=(col(Case.grid_code), col(Case.category_code)),
            order_by=(col(Case.created_at).desc(), col(Case.id).desc()),
        )
        .label("newest")
    )
    window = (
        wide_select(
            *(col(c) for c in (Case.grid_code, Case.category_code, Case.number, Case.title, Case.created_at)),
            col(Case.status),
            newest,
        )
        .where(
            col(Case.created_at) >= at.window_from,
            col(Case.created_at) < at.now,
            tuple_(col(Case.grid_code), col(Case.category_code)).in_(pairs),
            col(Case.status) != CaseStatus.REJECTED.value,
        )
        .subquery()
    )
    found: dict[tuple[str, str], list[CaseLink]] = {pair: [] for pair in pairs}
    rows = session.execute(wide_select(window).where(window.c.newest <= CASES_SHOWN).order_by(window.c.newest)).all()
    for grid, category, number, title, created_at, status, _ in rows:
        found[(grid, category)].append(CaseLink(number, title, created_at, status))
    return found


def open_episodes(session: Session) -> dict[tuple[str, str], HotspotEpisode]:
    rows = session.exec(select(HotspotEpisode).where(col(HotspotEpisode.ended_at).is_(None)))
    return {(e.grid_code, e.category_code): e for e in rows}


def hotspots(session: Session, now: datetime, test: HotspotTest | None = None) -> list[Hotspot]:
    """The hotspots now, most surprising first, each with its newest cases and its open episode (when the
    sweep has seen it: since then, and whether supervisors were texted)."""
    test = test or current_test()
    at = spans(now, test)
    names = reference_names()
    episodes = open_episodes(session)
    hot = hot_pairs(session, now, test)
    cases = _cases(session, [(grid, category) for grid, category, _ in hot], at)
    return [
        Hotspot(
            grid,
            names.grid(grid),
            category,
            names.category(category),
            verdict,
            cases[(grid, category)],
            episodes.get((grid, category)),
        )
        for grid, category, verdict in hot
    ]


def swept_hotspots(session: Session, now: datetime, test: HotspotTest | None = None) -> list[Hotspot]:
    """The hotspots as the worker's last sweep found them (its open episodes, refreshed every
    HOTLINE_HOTSPOT_SWEEP_MINUTES): what the dashboard shows, so its cost does not grow with eight weeks of
    the city's cases; /supervisor/hotspots tests live. The baseline is read back from the episode's λ."""
    test = test or current_test()
    names = reference_names()
    episodes = sorted(open_episodes(session).values(), key=lambda e: (e.p_value, -e.count, e.grid_code))
    cases = _cases(session, [(e.grid_code, e.category_code) for e in episodes], spans(now, test))
    found = []
    for e in episodes:
        baseline = max(0, round(e.expected * test.baseline_days / test.window_days - PRIOR_REPORTS))
        verdict = Verdict(e.count, baseline, e.expected, e.p_value, hot=True)
        found.append(
            Hotspot(
                e.grid_code,
                names.grid(e.grid_code),
                e.category_code,
                names.category(e.category_code),
                verdict,
                cases[(e.grid_code, e.category_code)],
                e,
            )
        )
    return found


def recent_episodes(session: Session, since: datetime, limit: int = 100) -> list[HotspotEpisode]:
    """Episodes open now or started since `since`, newest first (the page's history and its export)."""
    query = (
        select(HotspotEpisode)
        .where((col(HotspotEpisode.ended_at).is_(None)) | (col(HotspotEpisode.started_at) >= since))
        .order_by(col(HotspotEpisode.started_at).desc(), col(HotspotEpisode.id).desc())
        .limit(limit)
    )
    return list(session.exec(query))
