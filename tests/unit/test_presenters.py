"""The console's wording and drawing (agent_ui.presenters): pure functions, tested on values."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from agent_ui.presenters import (
    actor_label,
    channel_of,
    deadline_class,
    describe_event,
    percent,
    project_map,
    reasons_zh,
)
from cases.queries import SENTENCES
from cases.states import EventKind
from routing.gridmap import GridOutline, build_layer

AT = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)


class FakeNames:
    def category(self, code: str | None, active_only: bool = False) -> str | None:
        return {"06010": "暴露垃圾", "09006": "占道经营"}.get(code or "")

    def grid(self, code: str | None) -> str | None:
        return {"g1": "东门社区第1网格", "g2": "东门社区第2网格"}.get(code or "")

    def department(self, code: str | None) -> str | None:
        return {"sanitation": "区环境卫生管理处"}.get(code or "")


def _line(
    action: str,
    data: dict[str, Any] | None = None,
    reason: str | None = None,
    actor: str = "system:pipeline",
    **kw: Any,
):  # type: ignore[no-untyped-def]
    return describe_event(
        at=AT,
        actor=actor,
        action=action,
        reason=reason,
        data=data or {},
        from_status=kw.get("from_status"),
        to_status=kw.get("to_status"),
        people={"agent:li": "李明"},
        names=FakeNames(),
        local=lambda dt: dt.strftime("%m-%d %H:%M"),
    )


def test_actors_are_people_by_name_and_machines_in_chinese() -> None:
    people = {"agent:li": "李明", "dept:wang": "王芳"}
    assert actor_label("agent:li", people) == "李明（坐席）"
    assert actor_label("dept:wang", people) == "王芳（承办单位）"
    assert actor_label("supervisor:gone", people) == "gone（班长）"  # account removed: its username
    assert actor_label("system:pipeline", people) == "系统（自动分拨）"
    assert actor_label("system:test", people) == "系统"
    assert actor_label("resident:web", people) == "市民（网页）"
    assert actor_label("resident:sms", people) == "市民"
    assert actor_label("camera", people) == "摄像头"
    assert actor_label("odd", people) == "odd"


def test_every_event_kind_has_its_own_words() -> None:
    kinds = [k.value for k in EventKind] + [a for a in SENTENCES if a != "rating"]
    for action in kinds:
        line = _line(action, {"report_id": 7, "channel": "sms", "title": "t"})
        assert line.text and line.text != action, action


def test_internal_events_are_marked_and_public_ones_not() -> None:
    assert _line("classify", {"category_code": "06010"}).internal
    assert _line("note").internal and _line("reveal_phone", {"report_id": 1}).internal
    assert _line("confirm").internal and _line("correct").internal
    assert not _line("dispatch", {"department_code": "sanitation"}).internal
    assert not _line("hold_for_agent").internal  # the resident reads 正在由热线坐席核实


def test_classify_says_category_grid_confidence_and_evidence() -> None:
    line = _line(
        "classify",
        {
            "category_code": "06010",
            "category_confidence": 0.834,
            "grid_code": "g1",
            "grid_confidence": 0.95,
            "grid_source": "gps",
        },
    )
    assert line.text == "机器分类：暴露垃圾（06010），置信度 83%"
    assert line.details == ["网格：东门社区第1网格（g1），置信度 95%，依据定位坐标"]
    assert _line("classify", {"category_code": None}).details == ["未能确定网格"]


def test_hold_reasons_and_rules_are_in_chinese() -> None:
    line = _line("hold_for_agent", reason="no grid; classifier confidence below the threshold")
    assert line.details == ["原因：未能确定网格；分类置信度低于阈值"]
    assert reasons_zh("rule r12") == "路由规则 r12"
    assert reasons_zh("something new") == "something new"
    assert reasons_zh(None) is None and reasons_zh(" ; ") is None


def test_dispatch_names_the_department_deadline_and_status_change() -> None:
    line = _line(
        "dispatch",
        {"department_code": "sanitation", "handle_deadline": "2026-12-03T10:00:00+00:00"},
        reason="rule r1",
        actor="agent:li",
        from_status="registered",
        to_status="dispatched",
    )
    assert line.who == "李明（坐席）" and line.text == "派遣至区环境卫生管理处（sanitation）"
    assert line.details == ["原因：路由规则 r1", "处置期限：12-03 10:00", "状态：已立案 → 已派遣"]


def test_a_correction_shows_before_and_after() -> None:
    line = _line("correct", {"category_code": ["09006", "06010"], "grid_code": ["g1", "g1"]}, actor="agent:li")
    assert line.text == "更正分类"
    assert line.details == ["类别：占道经营（09006） → 暴露垃圾（06010）", "网格：东门社区第1网格（g1）"]
    assert _line("confirm", {"category_code": ["06010", "06010"], "grid_code": [None, "g2"]}).details == [
        "类别：暴露垃圾（06010）",
        "网格：（无） → 东门社区第2网格（g2）",
    ]


def test_notes_carry_their_words() -> None:
    sms = _line("note", {"text": "门口又满了"}, reason="市民短信补充", actor="system:sms")
    assert sms.who == "短信平台" and sms.details == ["市民短信补充", "短信内容：门口又满了"]
    rating = _line("survey", {"rating": "满意", "comment": "很快"}, reason="回访：满意", actor="system:ivr")
    assert "评价：满意" in rating.details and "意见：很快" in rating.details


def test_replies_and_merges_say_what_was_sent_and_where_from() -> None:
    reply = _line("sms_reply", {"template": "t", "text": "您好，已安排处理"}, reason="已受理", actor="agent:li")
    assert reply.text == "短信回复反映人" and "短信内容：您好，已安排处理" in reply.details
    merged = _line("merge", {"into": "12319-20261202-000009"}, reason="同一处垃圾", actor="agent:li")
    assert merged.text == "合并至工单 12319-20261202-000009" and merged.details[0] == "原因：同一处垃圾"
    joined = _line("link_report", {"report_id": 3, "channel": "web", "merged_from": "12319-20261202-000001"})
    assert joined.details == ["由工单 12319-20261202-000001 合并而来"]


def test_the_reveal_audit_names_the_report_never_a_number() -> None:
    line = _line("reveal_phone", {"report_id": 42}, actor="agent:li")
    assert line.text == "查看了反映 #42 的完整电话号码" and line.who == "李明（坐席）"


def test_unknown_actions_still_show() -> None:
    assert _line("teleport", reason="why").text == "teleport"


def test_deadline_colours() -> None:
    now = AT
    assert deadline_class(None, now) == "due-none"
    assert deadline_class(now - timedelta(minutes=1), now) == "due-bad"
    assert deadline_class(now + timedelta(hours=3), now) == "due-warn"
    assert deadline_class(now + timedelta(days=1), now) == "due-ok"
    assert deadline_class(now - timedelta(days=1), now, done=True) == "due-none"


def test_percent_and_channels() -> None:
    assert percent(0.005) == "0%" and percent(1) == "100%" and percent(None) == "—"
    assert channel_of("sms") == ("短信", "message-square")
    assert channel_of("voice", voicemail=True) == ("语音留言", "voicemail")
    assert channel_of("pigeon") == ("pigeon", "file-text")


def _square(code: str, x0: float, y0: float, size: float = 0.006) -> dict[str, Any]:
    ring = [[x0, y0], [x0 + size, y0], [x0 + size, y0 + size], [x0, y0 + size], [x0, y0]]
    return {"type": "Polygon", "coordinates": [ring]}


def _points(ring: str) -> list[tuple[float, float]]:
    return [(float(x), float(y)) for x, y in (p.split(",") for p in ring.split())]


def test_the_map_projection_fits_the_box_keeps_north_up_and_true_proportions() -> None:
    layer = build_layer(
        [
            ("g1", "一", _square("g1", 114.840, 30.400)),
            ("g2", "二", _square("g2", 114.846, 30.400)),
            ("g3", "三", _square("g3", 114.840, 30.406)),
        ]
    )
    grid, near = layer.around("g1")
    assert grid is not None and [n.code for n in near] == ["g3", "g2"]  # by name
    drawing = project_map(grid, near, (114.843, 30.403), width=300, height=200, pad=10)
    assert (drawing.width, drawing.height) == (300, 200)
    every = [p for s in drawing.shapes for ring in s.rings for p in _points(ring)]
    assert all(10 - 0.1 <= x <= 290 + 0.1 and 10 - 0.1 <= y <= 190 + 0.1 for x, y in every)
    main = next(s for s in drawing.shapes if s.main)
    pts = _points(main.rings[0])
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    width, height = max(xs) - min(xs), max(ys) - min(ys)
    # A degree east is cos(latitude) of a degree north on the ground, and so on the map.
    assert width / height == pytest.approx(math.cos(math.radians(30.406)), rel=0.01)
    # North up: g3 (north of g1) is drawn above it; the point sits inside g1.
    north = next(s for s in drawing.shapes if s.code == "g3")
    assert max(p[1] for p in _points(north.rings[0])) <= min(ys) + 0.2
    assert drawing.dot is not None
    assert min(xs) < drawing.dot[0] < max(xs) and min(ys) < drawing.dot[1] < max(ys)
    assert min(xs) < main.label[0] < max(xs) and min(ys) < main.label[1] < max(ys)


def test_a_point_far_away_is_left_off_rather_than_shrinking_the_map() -> None:
    grid = GridOutline("g1", "一", (((0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0), (0.0, 0.0)),), (0.5, 0.5))
    assert project_map(grid, [], (50.0, 50.0)).dot is None
    assert project_map(grid, [], (0.5, 0.5)).dot is not None
    assert project_map(grid, [], None).dot is None


def test_the_layer_finds_touching_neighbours_and_skips_broken_shapes() -> None:
    layer = build_layer(
        [
            ("a", "甲", _square("a", 0.0, 0.0, 1.0)),
            ("b", "乙", _square("b", 1.0, 0.0, 1.0)),  # shares an edge
            ("c", "丙", _square("c", 1.0, 1.0, 1.0)),  # shares a corner
            ("d", "丁", _square("d", 5.0, 5.0, 1.0)),  # far away
            ("e", "戊", {"type": "Polygon", "coordinates": "nonsense"}),
            ("f", "己", None),
        ]
    )
    assert set(layer.neighbours["a"]) == {"b", "c"} and layer.neighbours["d"] == ()
    assert "e" not in layer.outlines and "f" not in layer.outlines
    assert layer.around("f") == (None, []) and layer.around(None) == (None, [])
