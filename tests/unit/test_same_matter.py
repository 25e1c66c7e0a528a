"""一事多诉 at intake (cases.linking, in routing.pipeline): the pure matcher — distance, window, text
similarity, who is linked and who is proposed — and the pipeline proposing a resident's duplicate to an
agent (held, with a DUPLICATE_PROPOSED event naming the candidate) while a camera and a resident are still
joined at once."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlmodel import col, select

from cases.db import session_scope
from cases.linking import (
    BOILERPLATE,
    Match,
    MatterRules,
    Sighting,
    best,
    bigrams,
    haversine_m,
    judge,
    text_similarity,
)
from cases.models import Case, CaseEvent, Report
from cases.states import EventKind
from ivr_flows.speech import FILLERS

GRID = "421102001001001"  # 东门社区第1网格: lon 114.840–114.846, lat 30.400–30.406
EAST = "421102001001002"  # its neighbour to the east (the boundary is lon 114.846)
T = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
RULES = MatterRules(
    window=timedelta(hours=72),
    link_window=timedelta(minutes=30),
    distance_m=50,
    min_similarity=0.3,
    stopwords=(*FILLERS, *BOILERPLATE),
)


def _case(grid: str = GRID, hours_ago: float = 1, number: str = "12319-T-1", case_id: int = 1) -> Case:
    return Case(
        id=case_id, number=number, category_code="06010", grid_code=grid, created_at=T - timedelta(hours=hours_ago)
    )


# --- the pure matcher ---------------------------------------------------------------------------------


def test_haversine_distance_in_metres() -> None:
    assert haversine_m((30.403, 114.843), (30.403, 114.843)) == 0
    # 0.001° of latitude is 111.2 m everywhere; 0.0004° of longitude at 30.4° N is 38.4 m.
    assert haversine_m((30.403, 114.843), (30.404, 114.843)) == pytest.approx(111.2, abs=0.2)
    assert haversine_m((30.403, 114.8458), (30.403, 114.8462)) == pytest.approx(38.4, abs=0.3)
    # Beijing Tiananmen to Shanghai People's Square: about 1,067 km.
    assert haversine_m((39.9087, 116.3975), (31.2304, 121.4737)) == pytest.approx(1_067_000, rel=0.01)


def test_bigrams_leave_out_punctuation_and_stopwords_without_bridging_the_gap() -> None:
    assert bigrams("东门，菜场") == {"东门", "菜场"}
    assert bigrams("喂你好 东门菜场", FILLERS) == {"东门", "门菜", "菜场"}
    assert bigrams("东门那个菜场", FILLERS) == {"东门", "菜场"}  # no 门菜 across the filler
    assert bigrams("ABC") == {"ab", "bc"}
    assert bigrams("") == frozenset()


def test_text_similarity_tells_one_spot_from_another_of_the_same_category() -> None:
    stop = (*FILLERS, *BOILERPLATE)
    same = [
        ("东门菜市场附近有暴露垃圾，好几天没人清理", "东门菜场门口垃圾堆了好多天了"),
        ("喂你好 那个我想反映一下 就是东门菜场后面那个巷子里 有一堆垃圾丢在路边", "东门菜场后面巷子里的垃圾还没人收"),
        ("幸福小区3号楼门口垃圾没人清", "幸福小区三号楼下垃圾满了"),
        ("八一广场旁边绿化带里面好多生活垃圾 塑料袋饭盒什么的", "八一广场绿化带垃圾"),
    ]
    for a, b in same:
        similarity = text_similarity(a, b, stop, ignore=["暴露垃圾"])
        assert similarity is not None and similarity >= RULES.min_similarity, (a, b, similarity)
    other = [
        ("东门菜市场垃圾满溢", "幸福小区3号楼门口垃圾没人清"),
        ("胜利街老邮政大楼对面 垃圾堆在那个树下面 两三天了都没清走", "八一广场旁边绿化带里面好多生活垃圾"),
    ]
    for a, b in other:
        similarity = text_similarity(a, b, stop, ignore=["暴露垃圾"])
        assert similarity is not None and similarity < RULES.min_similarity, (a, b, similarity)
    # The category's own name counts for nobody: two reports that only agree it is 垃圾 are not one spot.
    assert text_similarity("垃圾太多", "垃圾好多", ignore=["暴露垃圾"]) == 0
    assert text_similarity("暴露垃圾", "垃圾", ignore=["暴露垃圾"]) is None
    assert text_similarity("垃圾", "东门菜场垃圾") == pytest.approx(1 / 4)  # a lone pair is not "the same"
    assert text_similarity("", "东门菜场垃圾") is None
    assert text_similarity("嗯那个", "东门菜场垃圾", FILLERS) is None  # nothing left but fillers


def test_window_place_and_words_decide_a_resident_pair_which_is_only_a_proposal() -> None:
    new = Sighting("web", "东门菜场后面巷子里的垃圾还没人收", (30.403, 114.843))
    old = [Sighting("sms", "东门菜场后面巷子里有一堆垃圾丢在路边", None)]
    m = judge(new, GRID, T, _case(), old, RULES, ["暴露垃圾"])
    assert m is not None and not m.link and m.same_grid and m.distance_m is None
    assert m.similarity is not None and m.similarity >= 0.3
    assert m.event_data() == {
        "candidate": "12319-T-1",
        "candidate_case_id": 1,
        "same_grid": True,
        "distance_m": None,
        "similarity": round(m.similarity, 3),
    }
    assert judge(new, GRID, T, _case(hours_ago=73), old, RULES) is None  # opened before the window
    assert judge(new, GRID, T, _case(hours_ago=71), old, RULES) is not None
    assert judge(new, GRID, T, _case(hours_ago=-1), old, RULES) is None  # "opened" an hour after the report
    assert judge(new, EAST, T, _case(), old, RULES) is None  # another grid, and no point on the old side
    different = [Sighting("sms", "幸福小区3号楼门口垃圾没人清", None)]
    assert judge(new, GRID, T, _case(), different, RULES, ["暴露垃圾"]) is None  # same grid, another spot


def test_within_the_distance_across_a_grid_boundary_but_not_further() -> None:
    new = Sighting("web", "东门菜场东边路口垃圾", (30.403, 114.8458))  # in GRID, 23 m from the boundary
    near = [Sighting("voice", "东门菜场东边路口垃圾没人收", (30.403, 114.8462))]  # in EAST, 38 m away
    m = judge(new, GRID, T, _case(grid=EAST), near, RULES)
    assert m is not None and not m.same_grid and m.distance_m == pytest.approx(38.4, abs=0.3)
    far = [Sighting("voice", "东门菜场东边路口垃圾没人收", (30.403, 114.8468))]  # 96 m away
    assert judge(new, GRID, T, _case(grid=EAST), far, RULES) is None
    # In the same grid the distance is recorded but the grid is enough.
    same_grid_far = judge(new, GRID, T, _case(), far, RULES)
    assert same_grid_far is not None and same_grid_far.distance_m == pytest.approx(96, abs=1)


def test_a_camera_and_a_resident_are_linked_within_the_camera_window_and_skip_the_words() -> None:
    resident = Sighting("web", "这里好多垃圾没人管")
    camera = [Sighting("camera", "摄像头识别：暴露垃圾")]
    m = judge(resident, GRID, T, _case(hours_ago=0.2), camera, RULES)
    assert m is not None and m.link and m.similarity is None
    later = judge(resident, GRID, T, _case(hours_ago=2), camera, RULES)  # past 30 minutes: an agent decides
    assert later is not None and not later.link
    # Camera with camera: a proposal too (one camera's bursts are merged at the door, not here).
    again = judge(Sighting("camera", "摄像头识别：暴露垃圾"), GRID, T, _case(hours_ago=0.2), camera, RULES)
    assert again is not None and not again.link and again.similarity is None


def test_best_prefers_a_link_then_the_most_similar_then_the_nearest() -> None:
    a, b, c = _case(number="A", case_id=1), _case(number="B", case_id=2, hours_ago=2), _case(number="C", case_id=3)
    proposals = [Match(a, False, True, None, 0.4), Match(b, False, True, 10.0, 0.8), Match(c, False, True, 5.0, 0.8)]
    chosen = best(proposals)
    assert chosen is not None and chosen.case.number == "C"
    linked = best([*proposals, Match(b, True, True, None, None)])
    assert linked is not None and linked.case.number == "B"
    assert best([]) is None


# --- in the pipeline ----------------------------------------------------------------------------------


def _report(text: str, channel: str = "web", **extra: Any) -> Report:
    """Through the one door (intake.core.accept); the test's queue runs the pipeline after the commit."""
    from intake.core import accept
    from intake.schemas import ReportIn

    with session_scope() as s:
        result = accept(s, ReportIn(channel=channel, external_id=uuid.uuid4().hex, text=text, **extra))
        rid = result.report.id
    with session_scope() as s:
        report = s.get(Report, rid)
        assert report is not None and report.case_id is not None
        s.expunge(report)
        return report


def _case_of(report: Report) -> Case:
    with session_scope() as s:
        case = s.get(Case, report.case_id)
        assert case is not None
        s.expunge(case)
        return case


def _events(case: Case, action: str) -> list[CaseEvent]:
    with session_scope() as s:
        rows = s.exec(
            select(CaseEvent)
            .where(CaseEvent.case_id == case.id, CaseEvent.action == action)
            .order_by(col(CaseEvent.id))
        ).all()
        return list(rows)


GARBAGE = {"category_code": "06010"}


def test_a_second_resident_of_the_same_matter_is_proposed_not_linked(client: TestClient) -> None:
    first = _report("东门菜市场后面巷子里有一堆垃圾丢在路边好几天了", hints=GARBAGE, phone="+8613911110001")
    original = _case_of(first)
    assert original.status == "dispatched" and original.grid_code == GRID
    second = _report("东门菜市场后面巷子里的垃圾还没人收", channel="sms", hints=GARBAGE, phone="+8613911110002")
    held = _case_of(second)
    assert held.id != original.id  # a case of its own: an agent merges it, the machine does not
    assert held.status == "registered" and held.needs_review and held.department_code == "sanitation"
    [proposed] = _events(held, EventKind.DUPLICATE_PROPOSED.value)
    assert proposed.data["candidate"] == original.number and proposed.data["candidate_case_id"] == original.id
    assert proposed.data["same_grid"] is True and proposed.data["distance_m"] is None
    assert proposed.data["similarity"] >= 0.3
    [hold] = _events(held, EventKind.HOLD_FOR_AGENT.value)
    assert hold.reason == f"possible duplicate of case {original.number}"
    assert not _events(held, "dispatch")
    with session_scope() as s:  # the original keeps only its own report
        assert [r.id for r in s.exec(select(Report).where(Report.case_id == original.id))] == [first.id]


def test_another_spot_or_an_old_case_is_not_proposed(client: TestClient) -> None:
    first = _report("东门菜市场后面巷子里有一堆垃圾丢在路边", hints=GARBAGE)
    other = _case_of(_report("东门路公交站台旁边垃圾桶满了溢出来", hints=GARBAGE))
    assert other.id != first.case_id and other.status == "dispatched" and not other.needs_review
    with session_scope() as s:  # the first case was opened four days ago
        s.execute(
            update(Case).where(col(Case.id) == first.case_id).values(created_at=datetime.now(UTC) - timedelta(days=4))
        )
    late = _case_of(_report("东门菜市场后面巷子里的垃圾还没人收", hints=GARBAGE))
    assert late.status == "dispatched" and not _events(late, EventKind.DUPLICATE_PROPOSED.value)


def test_reports_with_points_within_fifty_metres_across_a_grid_boundary(client: TestClient) -> None:
    first = _report("东门菜场东边路口垃圾堆", hints=GARBAGE, location={"lat": 30.403, "lon": 114.8462})
    assert _case_of(first).grid_code == EAST
    second = _case_of(_report("东门菜场东边路口垃圾没人收", hints=GARBAGE, location={"lat": 30.403, "lon": 114.8458}))
    assert second.grid_code == GRID and second.needs_review
    [proposed] = _events(second, EventKind.DUPLICATE_PROPOSED.value)
    assert proposed.data["candidate_case_id"] == first.case_id and proposed.data["same_grid"] is False
    assert proposed.data["distance_m"] == pytest.approx(38.4, abs=0.3)


def test_a_camera_and_a_resident_are_still_joined_at_once(client: TestClient) -> None:
    camera = _report("摄像头识别：暴露垃圾", channel="camera", hints={**GARBAGE, "camera_grid_code": GRID})
    resident = _report("这里好多垃圾没人管，在东门菜市场", hints=GARBAGE)
    assert resident.case_id == camera.case_id
    case = _case_of(camera)
    assert not _events(case, EventKind.DUPLICATE_PROPOSED.value)
    assert [e.data["report_id"] for e in _events(case, EventKind.LINK_REPORT.value)] == [resident.id]


def test_a_camera_case_past_the_camera_window_is_only_proposed(client: TestClient) -> None:
    camera = _report("摄像头识别：暴露垃圾", channel="camera", hints={**GARBAGE, "camera_grid_code": GRID})
    with session_scope() as s:
        s.execute(
            update(Case).where(col(Case.id) == camera.case_id).values(created_at=datetime.now(UTC) - timedelta(hours=2))
        )
    resident = _case_of(_report("东门菜市场这里好多垃圾没人管", hints=GARBAGE))
    assert resident.id != camera.case_id and resident.needs_review
    [proposed] = _events(resident, EventKind.DUPLICATE_PROPOSED.value)
    assert proposed.data["candidate_case_id"] == camera.case_id and proposed.data["similarity"] is None


def test_a_case_whose_work_is_reported_done_takes_no_new_report(client: TestClient) -> None:
    from cases.lifecycle import Action
    from cases.service import apply_action

    first = _report("东门菜市场后面巷子里有一堆垃圾丢在路边", hints=GARBAGE)
    with session_scope() as s:
        case = s.get(Case, first.case_id)
        assert case is not None
        apply_action(s, case, Action.ACCEPT, "dept:wang")
        apply_action(s, case, Action.HANDLE, "dept:wang", reason="已清运")
    again = _case_of(_report("东门菜市场后面巷子里的垃圾还没人收", hints=GARBAGE))
    assert again.id != first.case_id and again.status == "dispatched"  # a failed fix: to a department again
