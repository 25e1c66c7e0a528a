"""Rule sets in the database: published versions (immutable) and drafts, as `RuleSetSpec`s for the pure
matcher. Use cases take a session and never commit; the caller does.

The newest published version routes (`routing.ruleset.routing_table` reads it, refreshed by digest).
Version 1 is seeded from routing/data/rules.yaml (or HOTLINE_ROUTING_RULES_PATH) into an empty table;
after that the file is only read by `hotline rules import`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlmodel import Session, col, func, select

from cases.models import Grid, utcnow
from cases.reference import reference_codes
from cases.states import Channel
from routing.conditions import codes_named, leaves
from routing.models import RuleRow, RuleSet, RuleSetState, SlaPolicy
from routing.notify_targets import looks_like_phone, phone_of, shown
from routing.rules import (
    DEFAULT_RULES,
    RoutingRule,
    RulesError,
    RuleSetSpec,
    check_catch_all,
    load_rule_file,
    parse_rule,
    parse_settings,
)
from routing.settings import routing_settings

NOTE_MAX = 500
SEED_EDITOR = "system:seed"


@dataclass(frozen=True)
class KnownCodes:
    """Everything a rule may name, from the reference data and the SLA policies."""

    categories: frozenset[str]
    departments: frozenset[str]
    grids: frozenset[str]
    communities: frozenset[str]
    streets: frozenset[str]
    sla_policies: frozenset[str]
    channels: frozenset[str] = frozenset(c.value for c in Channel)


def known_codes(session: Session) -> KnownCodes:
    ref = reference_codes(session)
    grids = session.exec(select(Grid.code, Grid.community_code, Grid.street_code)).all()
    policies = session.exec(select(SlaPolicy.code).where(col(SlaPolicy.active).is_(True))).all()
    return KnownCodes(
        categories=ref.categories,
        departments=ref.departments,
        grids=frozenset(g for g, _, _ in grids),
        communities=frozenset(c for _, c, _ in grids if c),
        streets=frozenset(s for _, _, s in grids if s),
        sla_policies=frozenset(policies),
    )


_FIELD_CODES = {
    "grid": ("grids", "网格"),
    "community": ("communities", "社区"),
    "street": ("streets", "街道"),
    "channel": ("channels", "渠道"),
}


def reference_problems(rule: RoutingRule, known: KnownCodes) -> list[str]:
    """What a rule names that does not exist (in Chinese): it would send cases nowhere or never match."""
    problems: list[str] = []
    a = rule.then
    if a.department and a.department not in known.departments:
        problems.append(f"承办单位 {a.department} 不存在或已停用")
    for entry in a.notify:
        if looks_like_phone(entry):
            if phone_of(entry) is None:
                problems.append(f"抄送号码 {shown(entry)} 不是有效的电话号码")
        elif entry not in known.departments:
            problems.append(f"抄送部门 {entry} 不存在或已停用")
    if a.sla_policy and a.sla_policy not in known.sla_policies:
        problems.append(f"时限策略 {a.sla_policy} 不存在或已停用")
    problems += [
        f"类别 {c} 不是启用的事项类别" for c in codes_named(rule.when, "category") if c not in known.categories
    ]
    for leaf in leaves(rule.when):
        if leaf.field == "category" and leaf.op == "prefix":
            problems += [
                f"类别前缀 {p} 没有对应的类别" for p in leaf.value if not any(c.startswith(p) for c in known.categories)
            ]
    for field, (attr, zh) in _FIELD_CODES.items():
        have: frozenset[str] = getattr(known, attr)
        problems += [f"{zh} {c} 不存在" for c in codes_named(rule.when, field) if c not in have]
    return problems


def check_references(spec: RuleSetSpec, known: KnownCodes) -> None:
    """Refuse a rule set naming anything unknown, the message naming the rule and the value."""
    for i, rule in enumerate(spec.rules, start=1):
        problems = reference_problems(rule, known)
        if problems:
            raise RulesError(f"第 {i} 条规则（{rule.key}）：{problems[0]}")


# --- rows ⇄ spec --------------------------------------------------------------------------------------


def rule_of(row: RuleRow) -> RoutingRule:
    raw = {
        "key": row.key,
        "name": row.name,
        "state": row.state,
        "expires_on": row.expires_on,
        "when": row.conditions or None,
        "then": row.actions,
    }
    return parse_rule(raw, f"第 {row.position} 条")


def rule_rows(session: Session, rule_set_id: int | None) -> list[RuleRow]:
    return list(
        session.exec(select(RuleRow).where(RuleRow.rule_set_id == rule_set_id).order_by(col(RuleRow.position))).all()
    )


def spec_of(session: Session, rule_set: RuleSet) -> RuleSetSpec:
    """A stored set as the matcher's spec (a draft may still lack its catch-all: not checked here)."""
    grade, threshold = parse_settings(rule_set.settings)
    rules = tuple(rule_of(r) for r in rule_rows(session, rule_set.id))
    return RuleSetSpec(rules=rules, default_grade=grade, min_decision_confidence=threshold, version=rule_set.version)


def write_rules(session: Session, rule_set: RuleSet, rules: Sequence[RoutingRule]) -> None:
    for position, rule in enumerate(rules, start=1):
        session.add(
            RuleRow(
                rule_set_id=rule_set.id or 0,
                position=position,
                key=rule.key,
                name=rule.name,
                state=rule.state.value,
                expires_on=rule.expires_on,
                conditions=rule.to_json()["when"],
                actions=rule.then.to_json(),
            )
        )


# --- reading --------------------------------------------------------------------------------------------


def published(session: Session, version: int | None = None) -> RuleSet | None:
    """The published set of that version, or the newest one (the one that routes)."""
    q = select(RuleSet).where(RuleSet.state == RuleSetState.PUBLISHED.value)
    if version is not None:
        return session.exec(q.where(RuleSet.version == version)).first()
    return session.exec(q.order_by(col(RuleSet.version).desc()).limit(1)).first()


def newest_version(session: Session) -> int | None:
    q = select(func.max(RuleSet.version)).where(RuleSet.state == RuleSetState.PUBLISHED.value)
    return session.exec(q).one()


def draft(session: Session) -> RuleSet | None:
    """The shared draft of the next version (at most one: supervisors edit it together), if any."""
    q = select(RuleSet).where(RuleSet.state == RuleSetState.DRAFT.value)
    return session.exec(q.order_by(col(RuleSet.id).desc()).limit(1)).first()


def versions(session: Session, limit: int = 200) -> list[RuleSet]:
    q = select(RuleSet).where(RuleSet.state == RuleSetState.PUBLISHED.value)
    return list(session.exec(q.order_by(col(RuleSet.version).desc()).limit(limit)).all())


# --- writing --------------------------------------------------------------------------------------------


def publish_note(note: str) -> str:
    note = note.strip()
    if not note:
        raise RulesError("请填写发布说明")
    if len(note) > NOTE_MAX:
        raise RulesError(f"发布说明不能超过 {NOTE_MAX} 字")
    return note


def hold_newest_version(session: Session) -> None:
    """Two publishes at once (the page and `hotline rules import`) would both take the next number: the
    second waits on the newest version's row until the first commits, then counts again (PostgreSQL; SQLite
    has one writer anyway)."""
    q = select(RuleSet.id).where(RuleSet.state == RuleSetState.PUBLISHED.value)
    session.exec(q.order_by(col(RuleSet.version).desc()).limit(1).with_for_update()).first()


def publish_spec(
    session: Session, spec: RuleSetSpec, *, editor: str, note: str, based_on: int | None = None
) -> RuleSet:
    """A new published version holding `spec`, after every check (catch-all last, references known). The
    caller commits; running processes pick it up by digest within HOTLINE_ROUTING_REFRESH_SECONDS."""
    check_catch_all(spec.rules)
    check_references(spec, known_codes(session))
    hold_newest_version(session)
    now = utcnow()
    rule_set = RuleSet(
        version=(newest_version(session) or 0) + 1,
        state=RuleSetState.PUBLISHED.value,
        based_on=based_on,
        settings=spec.settings_json(),
        note=publish_note(note),
        created_by=editor,
        created_at=now,
        updated_at=now,
        published_by=editor,
        published_at=now,
    )
    session.add(rule_set)
    session.flush()
    write_rules(session, rule_set, spec.rules)
    session.flush()
    return rule_set


def import_rule_file(session: Session, path: Path, *, editor: str, note: str) -> RuleSet:
    """`hotline rules import FILE --note TEXT`: the file, checked, as a new published version."""
    current = published(session)
    return publish_spec(
        session, load_rule_file(path), editor=editor, note=note, based_on=current.version if current else None
    )


def seed_rule_set(session: Session, path: Path | None = None) -> int:
    """Version 1 from the shipped rules (or HOTLINE_ROUTING_RULES_PATH) when no version exists yet; a
    database with any version keeps its own. Returns the rules seeded (0: left alone)."""
    if newest_version(session) is not None:
        return 0
    path = path or routing_settings().routing_rules_path or DEFAULT_RULES
    rule_set = publish_spec(session, load_rule_file(path), editor=SEED_EDITOR, note=f"种子：{path.name}")
    return len(rule_rows(session, rule_set.id))


def roll_back(session: Session, version: int, *, editor: str, note: str) -> RuleSet:
    """Publish a copy of an earlier version as the newest one (history is never rewritten)."""
    old = published(session, version)
    if old is None:
        raise RulesError(f"没有版本 v{version}")
    return publish_spec(session, spec_of(session, old), editor=editor, note=note, based_on=version)
