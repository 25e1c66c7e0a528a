"""The shared draft of the next rule-set version, and what supervisors do to it: open it (a copy of the
newest version), add or edit a rule, change its state, move, duplicate or delete it, change the settings,
discard the draft, publish it. Use cases: they take a session, change rows, flush, never commit.

A draft may be wrong while it is edited (the problems show inline); publishing runs every check and
refuses a draft with any problem, so only a clean set ever routes. Each edit rewrites the draft's rows
from the edited list: a draft holds a few dozen rules, and positions then never have gaps or repeats."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from sqlalchemy import delete
from sqlmodel import Session, col, select

from cases.models import utcnow
from routing.models import RuleRow, RuleSet, RuleSetState
from routing.rule_checks import Problems, check_rules, never_matches
from routing.rule_sets import (
    KnownCodes,
    check_references,
    hold_newest_version,
    known_codes,
    newest_version,
    publish_note,
    published,
    reference_problems,
    spec_of,
    write_rules,
)
from routing.rule_sets import draft as current_draft
from routing.rules import (
    KEY_MAX,
    NAME_MAX,
    RoutingRule,
    RulesError,
    RuleSetSpec,
    RuleState,
    check_catch_all,
    parse_rule,
    parse_settings,
)

Direction = Literal["up", "down"]
COPY_SUFFIX_MAX = 8  # "-copy" and a number
RESERVED_KEYS = ("new", "check")  # the rule form's own paths


@dataclass(frozen=True)
class DraftView:
    """The draft as the editor shows it: its rules in order and every problem found."""

    rule_set: RuleSet
    spec: RuleSetSpec
    problems: Problems


def open_draft(session: Session, editor: str) -> RuleSet:
    """The shared draft; without one, a new draft copying the newest published version."""
    found = current_draft(session)
    if found is not None:
        return found
    base = published(session)
    if base is not None:
        _lock(session, base)  # two supervisors opening at once: the second waits, then finds the first's draft
        found = current_draft(session)
        if found is not None:
            return found
    now = utcnow()
    draft = RuleSet(
        version=None,
        state=RuleSetState.DRAFT.value,
        based_on=base.version if base else None,
        settings=dict(base.settings) if base else {},
        created_by=editor,
        created_at=now,
        updated_at=now,
    )
    session.add(draft)
    session.flush()
    if base is not None:
        write_rules(session, draft, spec_of(session, base).rules)
        session.flush()
    return draft


def require_draft(session: Session) -> RuleSet:
    found = current_draft(session)
    if found is None:
        raise RulesError("没有草稿：请先新建草稿")
    return found


def draft_rules(session: Session, draft: RuleSet) -> list[RoutingRule]:
    return list(spec_of(session, draft).rules)


def _lock(session: Session, rule_set: RuleSet) -> str | None:
    """Hold the row until the transaction ends (PostgreSQL; SQLite has one writer anyway); its state then,
    None when it is gone."""
    q = select(RuleSet.state).where(RuleSet.id == rule_set.id).with_for_update()
    return session.exec(q).first()


def _lock_draft(session: Session, draft: RuleSet) -> None:
    """Lock the draft, refusing if another supervisor published or discarded it meanwhile (a published
    version never changes)."""
    if _lock(session, draft) != RuleSetState.DRAFT.value:
        raise RulesError("草稿已被其他主管发布或放弃，请刷新页面")


def _editing(session: Session, draft: RuleSet) -> list[RoutingRule]:
    """The draft's rules, read after locking it: two edits at once apply one after the other, each to
    what the other left, instead of both rewriting the rows from the same reading."""
    _lock_draft(session, draft)
    return draft_rules(session, draft)


def draft_problems(session: Session, spec: RuleSetSpec) -> Problems:
    """The checks of `routing.rule_checks` and the references each rule names, per rule."""
    found = check_rules(spec.rules)
    known = known_codes(session)
    by_rule = dict(found.by_rule)
    for rule in spec.rules:
        missing = reference_problems(rule, known)
        if missing:
            by_rule[rule.key] = tuple(missing) + by_rule.get(rule.key, ())
    ordered = {r.key: by_rule[r.key] for r in spec.rules if r.key in by_rule}
    return Problems(ordered, found.overall)


def draft_view(session: Session, draft: RuleSet) -> DraftView:
    spec = spec_of(session, draft)
    return DraftView(draft, spec, draft_problems(session, spec))


def _store(session: Session, draft: RuleSet, rules: Sequence[RoutingRule]) -> None:
    session.execute(delete(RuleRow).where(col(RuleRow.rule_set_id) == draft.id))
    session.flush()
    write_rules(session, draft, rules)
    draft.updated_at = utcnow()
    session.add(draft)
    session.flush()


def _index(rules: Sequence[RoutingRule], key: str) -> int:
    for i, r in enumerate(rules):
        if r.key == key:
            return i
    raise RulesError(f"草稿中没有规则 {key}")


def _fresh_key(taken: set[str]) -> str:
    n = len(taken) + 1
    while f"rule-{n}" in taken:
        n += 1
    return f"rule-{n}"


def _placed(rules: list[RoutingRule], key: str | None, raw: Mapping[str, Any], known: KnownCodes) -> RoutingRule:
    """The rule `raw` checked as `save_rule` checks it, put into `rules` where saving puts it."""
    if key is None and not str(raw.get("key") or "").strip():
        raw = {**raw, "key": _fresh_key({r.key for r in rules})}
    rule = parse_rule(raw, "本条规则")
    if rule.key in RESERVED_KEYS:
        raise RulesError(f"规则编号不能是 {rule.key}（编辑页面自己用它）")
    problems = reference_problems(rule, known)
    if problems:
        raise RulesError(problems[0])
    why = never_matches(rule.when)
    if why:
        raise RulesError(f"这条规则永远不会命中：{why}")
    at = _index(rules, key) if key is not None else None
    if any(r.key == rule.key for i, r in enumerate(rules) if i != at):
        raise RulesError(f"规则编号 {rule.key} 已被另一条规则使用")
    if at is not None:
        rules[at] = rule
    else:
        last_is_fallback = bool(rules) and rules[-1].catch_all and rule.catch_all is False
        rules.insert(len(rules) - 1 if last_is_fallback else len(rules), rule)
    return rule


def save_rule(session: Session, draft: RuleSet, key: str | None, raw: Mapping[str, Any]) -> RoutingRule:
    """Add a rule (key None: placed just above the catch-all; without a key of its own it gets rule-N) or
    replace rule `key` in place (its key may change). The rule is parsed as a document's would be, must
    name only what exists and must be able to match; its key must be unique in the draft."""
    rules = _editing(session, draft)
    rule = _placed(rules, key, raw, known_codes(session))
    _store(session, draft, rules)
    return rule


def check_rule(session: Session, draft: RuleSet, key: str | None, raw: Mapping[str, Any]) -> tuple[str, ...]:
    """What saving the rule would say, without saving it: a refusal raises RulesError as `save_rule`
    would; otherwise the problems it would have in the draft where it would go (e.g. hidden above)."""
    rules = draft_rules(session, draft)
    rule = _placed(rules, key, raw, known_codes(session))
    return check_rules(rules).by_rule.get(rule.key, ())


def set_state(session: Session, draft: RuleSet, key: str, state: RuleState) -> None:
    rules = _editing(session, draft)
    i = _index(rules, key)
    rules[i] = replace(rules[i], state=state)
    _store(session, draft, rules)


def move(session: Session, draft: RuleSet, key: str, to: Direction | int) -> int:
    """Move rule `key` one place up or down, or to a 1-based position; returns its new position."""
    rules = _editing(session, draft)
    i = _index(rules, key)
    if isinstance(to, int):
        if not 1 <= to <= len(rules):
            raise RulesError(f"位置须在 1 到 {len(rules)} 之间")
        target = to - 1
    else:
        target = i - 1 if to == "up" else i + 1
        target = min(max(target, 0), len(rules) - 1)
    rules.insert(target, rules.pop(i))
    _store(session, draft, rules)
    return target + 1


def _copy_key(key: str, taken: set[str]) -> str:
    stem = key[: KEY_MAX - COPY_SUFFIX_MAX]
    n = 1
    while True:
        candidate = f"{stem}-copy" if n == 1 else f"{stem}-copy{n}"
        if candidate not in taken:
            return candidate
        n += 1


def duplicate(session: Session, draft: RuleSet, key: str) -> RoutingRule:
    """A copy right below the rule, disabled (an enabled copy would be hidden by its original), with a
    new key and 「副本」 in its name."""
    rules = _editing(session, draft)
    i = _index(rules, key)
    original = rules[i]
    copy = replace(
        original,
        key=_copy_key(original.key, {r.key for r in rules}),
        name=(original.name[: NAME_MAX - 4] + "（副本）"),
        state=RuleState.DISABLED,
    )
    rules.insert(i + 1, copy)
    _store(session, draft, rules)
    return copy


def delete_rule(session: Session, draft: RuleSet, key: str) -> None:
    rules = _editing(session, draft)
    rules.pop(_index(rules, key))
    _store(session, draft, rules)


def set_settings(session: Session, draft: RuleSet, default_grade: str, min_decision_confidence: float) -> None:
    grade, threshold = parse_settings(
        {"default_grade": default_grade, "min_decision_confidence": min_decision_confidence}, "设置"
    )
    _lock_draft(session, draft)
    draft.settings = {"default_grade": grade, "min_decision_confidence": threshold}
    draft.updated_at = utcnow()
    session.add(draft)
    session.flush()


def discard(session: Session, draft: RuleSet) -> None:
    _lock_draft(session, draft)
    session.execute(delete(RuleRow).where(col(RuleRow.rule_set_id) == draft.id))
    session.delete(draft)
    session.flush()


def publish_draft(session: Session, editor: str, note: str) -> RuleSet:
    """The draft becomes the next version (editor, time and note recorded), after every check: a draft
    with any problem is refused, and so is one started from a version that is no longer the newest
    (publishing it would silently undo that version)."""
    draft = require_draft(session)
    _lock_draft(session, draft)
    hold_newest_version(session)
    newest = newest_version(session)
    if draft.based_on != newest:
        raise RulesError(f"草稿基于 v{draft.based_on}，但此后已发布了 v{newest}：请放弃草稿，在最新版本上重新修改")
    note = publish_note(note)
    spec = spec_of(session, draft)
    problems = draft_problems(session, spec)
    if problems.count:
        raise RulesError(f"草稿还有 {problems.count} 个问题，不能发布：{problems.first()}")
    check_catch_all(spec.rules, "草稿")
    check_references(spec, known_codes(session))
    now = utcnow()
    draft.version = (newest or 0) + 1
    draft.state = RuleSetState.PUBLISHED.value
    draft.note = note
    draft.published_by = editor
    draft.published_at = now
    draft.updated_at = now
    session.add(draft)
    session.flush()
    return draft


__all__ = [
    "DraftView",
    "check_rule",
    "delete_rule",
    "discard",
    "draft_problems",
    "draft_rules",
    "draft_view",
    "duplicate",
    "move",
    "open_draft",
    "publish_draft",
    "require_draft",
    "save_rule",
    "set_settings",
    "set_state",
]
