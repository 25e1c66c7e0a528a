"""One matter, one case (一事多诉): the open case of the same matter near a new report, if there is one.

Same matter means: the same category; the case opened within a window before the report; the same grid,
or — when both reports have a point — within a distance; and similar words (a camera's alert has no words
of its own, so a pair with a camera skips that test). What follows from a match depends on who reported:
a camera and a resident (any other channel) seeing one thing within the camera window are one case at once
(`Match.link`); any other pair is a proposal an agent decides on (合并, `cases.merge`).

The scoring is pure (`haversine_m`, `bigrams`, `text_similarity`, `judge`, `best`) and tested without a
database; `find_same_matter` is its one query, served by the partial index ix_case_open_matter
(category_code, grid_code, created_at over open cases). The pipeline calls it once it knows the category
and the grid, for every channel; `find_case_to_link` is the automatic half alone.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text as sql
from sqlmodel import Session, col, select

from cases.lifecycle import CaseStatus
from cases.models import OPEN_CASE_SQL, Case, Report
from cases.states import Channel

# A case whose department already reported the work done takes no new report: a report after 反馈 is a
# failed fix or a new occurrence, and must reach a department again as a case of its own.
WORK_DONE = frozenset({CaseStatus.HANDLED, CaseStatus.VERIFIED, CaseStatus.SURVEYED})
DUPLICATE_HOLD = "possible duplicate of case"  # a proposal's hold reason, then the case number (worded by agent_ui)
CLOCK_SKEW = timedelta(seconds=5)  # web nodes' clocks: a case "opened" just after the report still counts
CANDIDATES = 20  # open cases of one category in a handful of grids within the window: a few rows
EARTH_RADIUS_M = 6_371_008.8  # mean Earth radius (IUGG)

# Words a complaint is made of whatever it is about: they say nothing about whether two reports are of
# one spot. (Speech fillers — 喂, 那个, 我想反映一下 — come from the caller, see ivr_flows.speech.FILLERS.)
BOILERPLATE = (
    "好几天",
    "好多天",
    "几天了",
    "两三天",
    "没人管",
    "没人清理",
    "没人处理",
    "没有人管",
    "一直",
    "请尽快",
    "尽快处理",
    "赶紧",
    "希望",
    "麻烦",
    "谢谢",
    "处理一下",
    "管一管",
    "管管",
    "现在",
    "天天",
    "每天",
    "经常",
    "这里",
    "那里",
    "附近",
    "旁边",
    "门口",
    "非常",
    "特别",
    "很多",
    "好多",
)
MIN_SET = 4  # a text of one or two word pairs ("垃圾") cannot be "the same" as anything by itself

_RUN = re.compile(r"[^\W_]+")  # letters and digits of any script; punctuation and spaces split runs


Point = tuple[float, float]  # (lat, lon) in degrees, WGS 84


@dataclass(frozen=True)
class MatterRules:
    """What "the same matter" means, from the settings (routing.settings, kernel settings)."""

    window: timedelta  # proposals: the case was opened at most this long before the report
    link_window: timedelta  # camera ↔ resident: joined without an agent within this (the camera window)
    distance_m: float  # "near" when both reports have a point
    min_similarity: float  # text_similarity at least this (pairs with a camera skip the test)
    stopwords: tuple[str, ...] = BOILERPLATE  # taken out before comparing words (fillers, boilerplate)


@dataclass(frozen=True)
class Sighting:
    """A report as the matcher sees it."""

    channel: str
    text: str = ""
    point: Point | None = None

    @property
    def camera(self) -> bool:
        return self.channel == Channel.CAMERA


@dataclass(frozen=True)
class Match:
    """An open case of the same matter: join it now (`link`) or propose it to an agent."""

    case: Case
    link: bool
    same_grid: bool
    distance_m: float | None  # between the nearest two points, when both sides had one
    similarity: float | None  # None: not compared (a camera, or no words on one side)

    def event_data(self) -> dict[str, Any]:
        """What the DUPLICATE_PROPOSED event records (the candidate, the distance, the similarity)."""
        return {
            "candidate": self.case.number,
            "candidate_case_id": self.case.id,
            "same_grid": self.same_grid,
            "distance_m": None if self.distance_m is None else round(self.distance_m, 1),
            "similarity": None if self.similarity is None else round(self.similarity, 3),
        }


# --- pure scoring -------------------------------------------------------------------------------------


def haversine_m(a: Point, b: Point) -> float:
    """Great-circle distance in metres between two (lat, lon) points."""
    lat1, lon1, lat2, lon2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def _stop_order(stopwords: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted({w for w in stopwords if w}, key=len, reverse=True))  # longer first: 就是说 before 就是


def bigrams(text: str, stopwords: Iterable[str] = ()) -> frozenset[str]:
    """The two-character windows of `text`'s runs of letters and digits, once `stopwords` are cut out
    (each leaves a gap, so no pair spans it). Latin letters are folded to lower case."""
    rest = text or ""
    for word in _stop_order(stopwords):
        rest = rest.replace(word, " ")
    pairs: set[str] = set()
    for run in _RUN.findall(rest.lower()):
        pairs.update(run[i : i + 2] for i in range(len(run) - 1))
    return frozenset(pairs)


def text_similarity(a: str, b: str, stopwords: Iterable[str] = (), ignore: Iterable[str] = ()) -> float | None:
    """How much of the shorter text's word pairs the other one shares (overlap coefficient of character
    bigrams), 0..1; None when either has nothing left to compare. `ignore`: words whose pairs count for
    neither side (the category's own name: two reports of 暴露垃圾 both say 垃圾). A short text counts as
    at least MIN_SET pairs long, so "垃圾" alone is never similar to everything that says 垃圾."""
    order = _stop_order(stopwords)
    drop: set[str] = set()
    for word in ignore:
        drop.update(bigrams(word))
    left, right = bigrams(a, order) - drop, bigrams(b, order) - drop
    if not left or not right:
        return None
    return len(left & right) / max(min(len(left), len(right)), MIN_SET)


def judge(
    new: Sighting,
    grid_code: str | None,
    at: datetime,
    case: Case,
    seen: Sequence[Sighting],
    rules: MatterRules,
    ignore: Sequence[str] = (),
) -> Match | None:
    """Whether the open `case` (its reports `seen`) is of the same matter as `new`, reported at `at` in
    `grid_code`; the best pair of reports decides. None: not the same matter (or not within the window)."""
    age = at - case.created_at
    if age > rules.window or age < -CLOCK_SKEW:
        return None
    same_grid = grid_code is not None and case.grid_code == grid_code
    found: list[Match] = []
    for old in seen:
        distance = haversine_m(new.point, old.point) if new.point and old.point else None
        if not same_grid and (distance is None or distance > rules.distance_m):
            continue
        similarity = None
        if not (new.camera or old.camera):
            similarity = text_similarity(new.text, old.text, rules.stopwords, ignore)
            if similarity is not None and similarity < rules.min_similarity:
                continue
        link = new.camera != old.camera and age <= rules.link_window
        found.append(Match(case, link, same_grid, distance, similarity))
    return best(found)


def best(matches: Iterable[Match]) -> Match | None:
    """The one to act on: an automatic link before any proposal (the newest case, as the camera link has
    always chosen); else the most similar words, then the nearest point, then the newest case."""

    def rank(m: Match) -> tuple[bool, float, float, datetime, int]:
        similarity = m.similarity if not m.link and m.similarity is not None else 0.0
        nearness = -m.distance_m if m.distance_m is not None and not m.link else 0.0
        return (m.link, similarity, nearness, m.case.created_at, m.case.id or 0)

    return max(matches, key=rank, default=None)


# --- the query ----------------------------------------------------------------------------------------


def open_cases_of_matter(
    session: Session, category_code: str, grid_codes: Sequence[str], since: datetime, until: datetime
) -> list[Case]:
    """Open cases of the category in these grids opened in [since, until], newest first, work not yet
    reported done: an index range per grid of ix_case_open_matter (the open-case condition is written as
    the index's own predicate, so the planner can use it)."""
    if not grid_codes:
        return []
    rows = session.exec(
        select(Case)
        .where(
            Case.category_code == category_code,
            col(Case.grid_code).in_(list(dict.fromkeys(grid_codes))),
            sql(OPEN_CASE_SQL),
            col(Case.created_at) >= since,
            col(Case.created_at) <= until,
        )
        .order_by(col(Case.created_at).desc())
        .limit(CANDIDATES)
    ).all()
    return [c for c in rows if CaseStatus(c.status) not in WORK_DONE]


def _sightings(session: Session, case_ids: list[int]) -> dict[int, list[Sighting]]:
    found: dict[int, list[Sighting]] = {}
    if not case_ids:
        return found
    reports = session.exec(select(Report).where(col(Report.case_id).in_(case_ids)).order_by(col(Report.id))).all()
    for r in reports:
        if r.case_id is not None:
            point = (r.lat, r.lon) if r.lat is not None and r.lon is not None else None
            found.setdefault(r.case_id, []).append(Sighting(r.channel, r.text or "", point))
    return found


def find_same_matter(
    session: Session,
    new: Sighting,
    *,
    category_code: str | None,
    grid_code: str | None,
    at: datetime,
    rules: MatterRules,
    near_grids: Sequence[str] = (),
    ignore: Sequence[str] = (),
) -> Match | None:
    """The open case of the same matter as `new` (a report of `category_code` in `grid_code` at `at`),
    or None. `near_grids`: the grids around it, looked in only for cases within the distance of a point
    (a report at a grid's edge). `ignore`: the category's own name (see `text_similarity`)."""
    if not category_code or not grid_code:
        return None
    window = max(rules.window, rules.link_window)
    if window <= timedelta(0):
        return None
    grids = [grid_code, *(near_grids if new.point is not None else ())]
    cases = open_cases_of_matter(session, category_code, grids, at - window, at + CLOCK_SKEW)
    seen = _sightings(session, [c.id for c in cases if c.id is not None])
    return best(
        m for c in cases if (m := judge(new, grid_code, at, c, seen.get(c.id or 0, []), rules, ignore)) is not None
    )


def find_case_to_link(
    session: Session,
    *,
    channel: str,
    category_code: str | None,
    grid_code: str | None,
    at: datetime,
    window_seconds: int,
) -> Case | None:
    """The case a report of `channel` joins without an agent — the newest open case of this category and
    grid opened within the window, reported from the other side of the camera/resident divide — or None."""
    window = timedelta(seconds=max(window_seconds, 0))
    rules = MatterRules(window=window, link_window=window, distance_m=0.0, min_similarity=0.0)
    match = find_same_matter(
        session, Sighting(channel), category_code=category_code, grid_code=grid_code, at=at, rules=rules
    )
    return match.case if match is not None and match.link else None
