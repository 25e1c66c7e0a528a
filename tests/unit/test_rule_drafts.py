"""The shared draft: opened as a copy of the newest version, edited rule by rule (validated in Chinese),
and published as the next version only when every check passes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select

from cases.db import session_scope
from routing import rule_drafts as drafts
from routing.models import RuleSet, RuleSetState
from routing.rule_sets import draft, newest_version, published, roll_back, rule_rows, spec_of
from routing.rules import RulesError, RuleState

EDITOR = "supervisor:zhang"


def raw(key: str = "dongmen-garbage", **kw: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "key": key,
        "name": "东门社区暴露垃圾",
        "state": "active",
        "when": {
            "all": [
                {"field": "category", "op": "in", "value": ["06010"]},
                {"field": "community", "op": "in", "value": ["421102001001"]},
            ]
        },
        "then": {"department": "municipal"},
    }
    return doc | kw


def keys(s: Session, d: RuleSet) -> list[str]:
    return [r.key for r in drafts.draft_rules(s, d)]


def test_a_draft_is_a_copy_of_the_newest_version_and_shared(env: Path) -> None:
    with session_scope() as s:
        current = published(s)
        assert current is not None
        d = drafts.open_draft(s, EDITOR)
        assert (d.state, d.version, d.based_on, d.created_by) == ("draft", None, current.version, EDITOR)
        assert spec_of(s, d).rules == spec_of(s, current).rules
        assert drafts.open_draft(s, "supervisor:li").id == d.id
    with session_scope() as s:
        assert len(s.exec(select(RuleSet).where(RuleSet.state == RuleSetState.DRAFT.value)).all()) == 1


def test_a_new_rule_goes_above_the_catch_all_and_publishing_makes_the_next_version(env: Path) -> None:
    with session_scope() as s:
        d = drafts.open_draft(s, EDITOR)
        before = keys(s, d)
        drafts.save_rule(s, d, None, raw())
        assert keys(s, d) == [*before[:-1], "dongmen-garbage", before[-1]]
        # Hidden below 暴露垃圾 (06010 goes there first): a problem until moved above it.
        problems = drafts.draft_view(s, d).problems
        assert "dongmen-garbage" in problems.by_rule and "挡住" in problems.by_rule["dongmen-garbage"][0]
        with pytest.raises(RulesError, match="草稿还有 1 个问题"):
            drafts.publish_draft(s, EDITOR, "东门改派市政")
        assert drafts.move(s, d, "dongmen-garbage", 1) == 1
        assert drafts.draft_view(s, d).problems.count == 0
        with pytest.raises(RulesError, match="请填写发布说明"):
            drafts.publish_draft(s, EDITOR, "  ")
        newest = newest_version(s) or 0
        done = drafts.publish_draft(s, EDITOR, "东门改派市政")
        assert (done.version, done.state, done.published_by, done.note) == (
            newest + 1,
            "published",
            EDITOR,
            "东门改派市政",
        )
        assert done.published_at is not None and draft(s) is None
        assert spec_of(s, done).rules[0].then.department == "municipal"


def test_bad_rules_are_refused_in_chinese(env: Path) -> None:
    with session_scope() as s:
        d = drafts.open_draft(s, EDITOR)
        cases = [
            (raw(then={"department": "nobody"}), "承办单位 nobody 不存在或已停用"),
            (raw(when={"field": "category", "op": "in", "value": ["99999"]}), "类别 99999 不是启用的事项类别"),
            (raw(when={"field": "grid", "op": "in", "value": ["1"]}), "网格 1 不存在"),
            (raw(then={"department": "municipal", "notify": ["12345"]}), "抄送号码 12345 不是有效的电话号码"),
            (raw(when={"field": "time_of_day", "op": "between", "value": ["08:00", "08:00"]}), "永远不会命中"),
            (
                raw(
                    when={
                        "all": [
                            {"field": "grade", "op": "in", "value": ["urgent"]},
                            {"field": "grade", "op": "in", "value": ["normal"]},
                        ]
                    }
                ),
                "这条规则永远不会命中：同时要求等级属于几组没有共同值的代码",
            ),
            (raw(key="garbage-exposed"), "规则编号 garbage-exposed 已被另一条规则使用"),
            (raw(name=""), "规则名称须是"),
        ]
        for doc, message in cases:
            with pytest.raises(RulesError, match=message):
                drafts.save_rule(s, d, None, doc)
        # Phone numbers and departments are both fine to notify.
        drafts.save_rule(s, d, None, raw(then={"department": "municipal", "notify": ["13800138000", "sanitation"]}))


def test_edit_state_duplicate_move_delete_settings(env: Path) -> None:
    with session_scope() as s:
        d = drafts.open_draft(s, EDITOR)
        first = keys(s, d)[0]
        assert first == "garbage-exposed"
        edited = drafts.save_rule(s, d, first, raw(key="renamed"))
        assert keys(s, d)[0] == "renamed" and edited.then.department == "municipal"
        drafts.set_state(s, d, "renamed", RuleState.SHADOW)
        copy = drafts.duplicate(s, d, "renamed")
        assert (copy.key, copy.name, copy.state) == ("renamed-copy", "东门社区暴露垃圾（副本）", RuleState.DISABLED)
        assert drafts.duplicate(s, d, "renamed").key == "renamed-copy2"
        assert keys(s, d)[:3] == ["renamed", "renamed-copy2", "renamed-copy"]
        assert drafts.move(s, d, "renamed", "down") == 2
        assert drafts.move(s, d, "renamed", "up") == 1
        assert drafts.move(s, d, "renamed", "up") == 1  # already first
        with pytest.raises(RulesError, match="位置须在"):
            drafts.move(s, d, "renamed", 0)
        drafts.delete_rule(s, d, "renamed-copy2")
        assert "renamed-copy2" not in keys(s, d)
        with pytest.raises(RulesError, match="草稿中没有规则 nothing"):
            drafts.delete_rule(s, d, "nothing")
        drafts.set_settings(s, d, "urgent", 0.5)
        spec = spec_of(s, d)
        assert (spec.default_grade, spec.min_decision_confidence) == ("urgent", 0.5)
        with pytest.raises(RulesError, match="派遣置信度门槛"):
            drafts.set_settings(s, d, "normal", 1.5)
        positions = [r.position for r in rule_rows(s, d.id)]
        assert positions == list(range(1, len(positions) + 1))


def test_discard_and_a_stale_draft(env: Path) -> None:
    with session_scope() as s:
        d = drafts.open_draft(s, EDITOR)
        drafts.discard(s, d)
        assert draft(s) is None
        with pytest.raises(RulesError, match="没有草稿"):
            drafts.publish_draft(s, EDITOR, "x")
        d = drafts.open_draft(s, EDITOR)
        current = newest_version(s) or 0
        roll_back(s, current, editor=EDITOR, note="命令行回滚")  # a version published meanwhile
        with pytest.raises(RulesError, match=f"草稿基于 v{current}，但此后已发布了 v{current + 1}"):
            drafts.publish_draft(s, EDITOR, "发布")


def test_a_draft_missing_its_catch_all_cannot_publish(env: Path) -> None:
    with session_scope() as s:
        d = drafts.open_draft(s, EDITOR)
        last = keys(s, d)[-1]
        drafts.set_state(s, d, last, RuleState.DISABLED)
        assert drafts.draft_view(s, d).problems.overall
        with pytest.raises(RulesError, match="缺少兜底规则"):
            drafts.publish_draft(s, EDITOR, "发布")


def test_a_published_version_is_never_edited_as_a_draft(env: Path) -> None:
    with session_scope() as s:
        d = drafts.open_draft(s, EDITOR)
        done = drafts.publish_draft(s, EDITOR, "发布")
        assert done.id == d.id and done.state == "published"
        before = spec_of(s, done)
        for change in (
            lambda: drafts.set_state(s, d, "garbage-exposed", RuleState.DISABLED),
            lambda: drafts.save_rule(s, d, None, raw()),
            lambda: drafts.set_settings(s, d, "urgent", 0.5),
            lambda: drafts.discard(s, d),
        ):
            with pytest.raises(RulesError, match="草稿已被其他主管发布或放弃"):
                change()
        assert spec_of(s, done) == before
