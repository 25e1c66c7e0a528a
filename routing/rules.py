"""Routing rules and the pure matcher: which department gets a report, at which grade, dispatched at once
or held for an agent — and why.

A rule set is an ordered list of rules, each a condition (`routing.conditions`) and actions; the first
active rule whose condition holds wins, and the last rule must be a catch-all. A rule in shadow mode is
tested and recorded (what it would have done) but never wins; a disabled or expired rule is passed over.
Rule sets live in the database, versioned (`routing.rule_sets`); the same document is what
`hotline rules export` writes and `hotline rules import` reads (routing/data/rules.yaml seeds version 1).

Time limits are not routing's: a rule may name an SLA policy; the clocks are `routing.clocks`'."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from routing.conditions import (
    ALWAYS,
    Condition,
    ConditionError,
    Matcher,
    Node,
    RoutingInputs,
    category_gate,
    compile_condition,
    condition_json,
    evaluate,
    parse_condition,
    uses_field,
)

DEFAULT_RULES = Path(__file__).parent / "data" / "rules.yaml"
GRADES = ("normal", "urgent", "critical")  # 一般 / 紧急 / 特急
GRADE_ZH = {"normal": "一般", "urgent": "紧急", "critical": "特急"}
DEFAULT_MIN_CONFIDENCE = 0.6
KEY_MAX, NAME_MAX, TAG_MAX = 64, 60, 24
CATEGORY_CACHE = 4096  # categories whose candidate rules a rule set keeps (the taxonomy has ~250)


class RulesError(ValueError):
    pass


class RuleState(StrEnum):
    ACTIVE = "active"
    SHADOW = "shadow"  # records what it would have done, does nothing (Netflix Dispatch's monitor mode)
    DISABLED = "disabled"


RULE_STATE_ZH = {RuleState.ACTIVE: "生效", RuleState.SHADOW: "影子", RuleState.DISABLED: "停用"}


@dataclass(frozen=True)
class RuleActions:
    department: str | None = None  # None only with hold: the agent chooses
    grade: str | None = None
    sla_policy: str | None = None  # an SLA policy code (routing.sla_policies); None: by category and grade
    hold: bool = False  # hold for an agent instead of dispatching at once
    require_check: bool = False  # 核查 by a grid worker of the case's grid before 立案
    notify: tuple[str, ...] = ()  # other departments whose contacts get the 派遣 notice too
    tags: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "department": self.department,
            "grade": self.grade,
            "sla_policy": self.sla_policy,
            "hold": self.hold,
            "require_check": self.require_check,
            "notify": list(self.notify),
            "tags": list(self.tags),
        }


@dataclass(frozen=True)
class RoutingRule:
    key: str  # stable across versions: hits per day and diffs follow it
    name: str
    when: Condition = ALWAYS
    then: RuleActions = field(default_factory=RuleActions)
    state: RuleState = RuleState.ACTIVE
    expires_on: date | None = None  # the last day it applies (the city's date)

    @property
    def catch_all(self) -> bool:
        return isinstance(self.when, Node) and self.when.mode == "all" and not self.when.children

    @cached_property
    def matches(self) -> Matcher:
        # Compiled once per rule (rules are immutable): every routing calls it for many rules and candidates.
        return compile_condition(self.when)

    @cached_property
    def category_gate(self) -> Callable[[str | None], bool] | None:
        return category_gate(self.when)

    @cached_property
    def tests_decision_confidence(self) -> bool:
        # Asked for every rule on every candidate category of every routing: worked out once per rule.
        return uses_field(self.when, "decision_confidence")

    def live_on(self, day: date | None) -> bool:
        return self.expires_on is None or day is None or day <= self.expires_on

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"key": self.key, "name": self.name, "state": self.state.value}
        if self.expires_on:
            doc["expires_on"] = self.expires_on.isoformat()
        doc["when"] = condition_json(self.when)
        doc["then"] = self.then.to_json()
        return doc


# A rule as the matcher's loops take it: position (1-based), the rule, its compiled condition, its expiry.
Entry = tuple[int, RoutingRule, Matcher, date | None]


@dataclass(frozen=True)
class RuleSetSpec:
    """One version of the rules (or a draft): what the matcher needs, nothing of the database."""

    rules: tuple[RoutingRule, ...]
    default_grade: str = "normal"
    # The decision's confidence below which a case is held for an agent (the department gate).
    min_decision_confidence: float = DEFAULT_MIN_CONFIDENCE
    version: int | None = None

    def settings_json(self) -> dict[str, Any]:
        return {"default_grade": self.default_grade, "min_decision_confidence": self.min_decision_confidence}

    @cached_property
    def _for_category(self) -> dict[tuple[bool, str | None], tuple[Entry, ...]]:
        return {}

    def active_for(self, category: str | None, *, deciding: bool = False) -> tuple[Entry, ...]:
        """The active rules that can hold for a report of `category` (a rule whose condition requires other
        categories cannot), in order, each with its position, compiled condition and expiry; kept per
        category. `deciding`: without the rules testing `decision_confidence` (what it is computed from)."""
        key = (deciding, category)
        found = self._for_category.get(key)
        if found is None:
            found = tuple(
                (i, r, r.matches, r.expires_on)
                for i, r in enumerate(self.rules, start=1)
                if r.state is RuleState.ACTIVE
                and not (deciding and r.tests_decision_confidence)
                and (r.category_gate is None or r.category_gate(category))
            )
            if len(self._for_category) < CATEGORY_CACHE:
                self._for_category[key] = found
        return found

    def to_json(self) -> dict[str, Any]:
        return {"settings": self.settings_json(), "rules": [r.to_json() for r in self.rules]}


@dataclass(frozen=True)
class Skipped:
    position: int
    key: str
    name: str
    reason: str


@dataclass(frozen=True)
class RoutingDecision:
    """What the rule set decided for one report, with everything the decision record keeps."""

    department_code: str | None
    grade: str
    rule_id: str | None  # the matched rule's key
    auto_dispatch: bool  # False: an agent must look first (the rule holds it, or the gate does)
    reasons: list[str] = field(default_factory=list)  # why the matched rule matched (Chinese)
    require_check: bool = False
    rule_name: str | None = None
    rule_position: int | None = None  # 1-based
    version: int | None = None
    sla_policy: str | None = None
    notify: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    confidence: float | None = None  # the probability that the department is right
    low_confidence: bool = False  # held by the gate (confidence < the rule set's minimum)
    skipped: tuple[Skipped, ...] = ()  # rules above the match that did not apply, and why
    shadow: tuple[tuple[str, dict[str, Any]], ...] = ()  # shadow rules that matched: key, would-do

    def summary(self) -> str:
        """The 派遣 event's reason: which rule of which version, and why it held (codes, not names)."""
        version = f"v{self.version} " if self.version is not None else ""
        return f"规则 {version}#{self.rule_position}『{self.rule_name}』：{'；'.join(self.reasons)}"[:500]

    def outcome_json(self) -> dict[str, Any]:
        return {
            "department": self.department_code,
            "grade": self.grade,
            "hold": not self.auto_dispatch,
            "require_check": self.require_check,
            "sla_policy": self.sla_policy,
            "notify": list(self.notify),
            "tags": list(self.tags),
            "low_confidence": self.low_confidence,
        }


# --- reading a rule set document ----------------------------------------------------------------------

_LEGACY = ("categories", "prefixes", "department", "auto_dispatch", "dispatch_limit", "handle_limit")


def _strings(raw: Any, where: str, what: str) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(v, str) for v in raw):
        raise RulesError(f"{where}：{what}须是文字列表")
    return tuple(v.strip() for v in raw if v.strip())


def _actions(raw: Any, where: str) -> RuleActions:
    if not isinstance(raw, Mapping):
        raise RulesError(f"{where}：缺少处理方式（then）")
    unknown = set(raw) - {"department", "grade", "sla_policy", "hold", "require_check", "notify", "tags"}
    if unknown:
        raise RulesError(f"{where}：未知的处理方式 {sorted(unknown)[0]!r}")
    grade = raw.get("grade")
    if grade is not None and grade not in GRADES:
        raise RulesError(f"{where}：等级只能是 normal、urgent、critical")
    for key in ("hold", "require_check"):
        if not isinstance(raw.get(key, False), bool):
            raise RulesError(f"{where}：{key} 须是 true 或 false")
    department = raw.get("department")
    if department is not None and (not isinstance(department, str) or not department.strip()):
        raise RulesError(f"{where}：承办单位须是部门代码")
    hold = bool(raw.get("hold", False))
    if department is None and not hold:
        raise RulesError(f"{where}：没有承办单位的规则须“交坐席处理”（hold: true）")
    policy = raw.get("sla_policy")
    if policy is not None and not isinstance(policy, str):
        raise RulesError(f"{where}：时限策略须是策略代码")
    tags = _strings(raw.get("tags"), where, "标签")
    if any(len(t) > TAG_MAX for t in tags):
        raise RulesError(f"{where}：标签不能超过 {TAG_MAX} 字")
    return RuleActions(
        department=department.strip() if department else None,
        grade=grade,
        sla_policy=policy or None,
        hold=hold,
        require_check=bool(raw.get("require_check", False)),
        notify=_strings(raw.get("notify"), where, "抄送部门"),
        tags=tags,
    )


def parse_rule(raw: Any, where: str) -> RoutingRule:
    """One rule of a document (or of the editor's form, as JSON), checked; messages in Chinese."""
    if not isinstance(raw, Mapping):
        raise RulesError(f"{where}：不是一条规则")
    legacy = [k for k in _LEGACY if k in raw]
    if legacy:
        raise RulesError(
            f"{where}：`{legacy[0]}` 是旧格式：条件写在 when 里（如 {{field: category, op: in, value: [...]}}），"
            "承办单位等写在 then 里；时限是 SLA 策略（routing/data/sla_policies.yaml）"
        )
    key = str(raw.get("key") or "").strip()
    if not key or len(key) > KEY_MAX or not all(ch.isalnum() or ch in "-_." for ch in key):
        raise RulesError(f"{where}：规则编号须是 1–{KEY_MAX} 位字母、数字或 -_.")
    name = str(raw.get("name") or "").strip()
    if not name or len(name) > NAME_MAX:
        raise RulesError(f"{where}（{key}）：规则名称须是 1–{NAME_MAX} 字")
    try:
        state = RuleState(raw.get("state", RuleState.ACTIVE.value))
    except ValueError:
        raise RulesError(f"{where}（{key}）：状态只能是 active、shadow、disabled") from None
    expires = raw.get("expires_on")
    if expires is not None and not isinstance(expires, date):
        try:
            expires = date.fromisoformat(str(expires))
        except ValueError:
            raise RulesError(f"{where}（{key}）：到期日 {expires!r} 不是 YYYY-MM-DD") from None
    try:
        when = parse_condition(raw.get("when"), f"{where}（{key}）")
    except ConditionError as exc:
        raise RulesError(str(exc)) from None
    return RoutingRule(
        key=key,
        name=name,
        when=when,
        then=_actions(raw.get("then"), f"{where}（{key}）"),
        state=state,
        expires_on=expires,
    )


def parse_settings(raw: Any, where: str = "settings") -> tuple[str, float]:
    raw = raw or {}
    if not isinstance(raw, Mapping):
        raise RulesError(f"{where}：须是键值表")
    grade = raw.get("default_grade", "normal")
    if grade not in GRADES:
        raise RulesError(f"{where}：默认等级只能是 normal、urgent、critical")
    threshold = raw.get("min_decision_confidence", DEFAULT_MIN_CONFIDENCE)
    if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not 0 <= threshold <= 1:
        raise RulesError(f"{where}：派遣置信度门槛须是 0 到 1 之间的数")
    return str(grade), float(threshold)


def check_catch_all(rules: Sequence[RoutingRule], source: str = "规则集") -> None:
    """The last rule must be an active rule without conditions: every report then gets a decision."""
    if not rules or not (rules[-1].catch_all and rules[-1].state is RuleState.ACTIVE and rules[-1].expires_on is None):
        raise RulesError(f"{source}：最后一条须是生效、无条件、不到期的兜底规则")


def parse_rule_set(doc: Any, source: str = "规则集", version: int | None = None) -> RuleSetSpec:
    """A whole document: settings and rules, each rule checked, keys unique, a catch-all last."""
    if not isinstance(doc, Mapping):
        raise RulesError(f"{source}：顶层须是键值表")
    if "calendar" in doc or "defaults" in doc:
        raise RulesError(
            f"{source}：`defaults` / `calendar` 是旧格式："
            "默认等级写在 settings.default_grade，日历见 `hotline calendar`"
        )
    raw_rules = doc.get("rules")
    if not isinstance(raw_rules, list):
        raise RulesError(f"{source}：rules 须是列表")
    rules = [parse_rule(r, f"{source} 第 {i + 1} 条") for i, r in enumerate(raw_rules)]
    seen: set[str] = set()
    for r in rules:
        if r.key in seen:
            raise RulesError(f"{source}：规则编号 {r.key} 重复")
        seen.add(r.key)
    check_catch_all(rules, source)
    grade, threshold = parse_settings(doc.get("settings"), f"{source} settings")
    return RuleSetSpec(rules=tuple(rules), default_grade=grade, min_decision_confidence=threshold, version=version)


def load_rule_file(path: Path) -> RuleSetSpec:
    text = path.read_text(encoding="utf-8")
    try:
        doc = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise RulesError(f"{path}: not valid YAML: {exc}".replace("\n", " ")) from exc
    return parse_rule_set(doc, source=str(path))


class _Dumper(yaml.SafeDumper):
    """Lists of codes on one line (a rule stays readable), everything else in block style."""


class _Quoted(str):
    pass


def _list(dumper: yaml.SafeDumper, data: list[Any]) -> yaml.Node:
    flow = all(isinstance(v, str | int | float) for v in data)
    # Codes quoted: an unquoted 06010 reads back as a number.
    items = [_Quoted(v) if isinstance(v, str) else v for v in data] if flow else data
    return dumper.represent_sequence("tag:yaml.org,2002:seq", items, flow_style=flow)


_Dumper.add_representer(list, _list)
_Dumper.add_representer(_Quoted, lambda d, v: d.represent_scalar("tag:yaml.org,2002:str", str(v), style="'"))


def _compact(doc: dict[str, Any]) -> dict[str, Any]:
    """A rule's actions without their defaults (null, false, []): what a person wrote."""
    for rule in doc["rules"]:
        rule["then"] = {k: v for k, v in rule["then"].items() if v not in (None, False, [])} or {"hold": False}
    return doc


def dump_rule_file(spec: RuleSetSpec, header: str = "") -> str:
    """The YAML `hotline rules export` writes and `import` reads back to the same rule set."""
    body = yaml.dump(_compact(spec.to_json()), Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=110)
    return (header + body) if header else body


# --- matching -------------------------------------------------------------------------------------------


def _first(spec: RuleSetSpec, x: RoutingInputs, category: str | None, p: float) -> tuple[int, RoutingRule] | None:
    """The first active live rule holding for `x` with `category` at probability `p` in its place, rules
    that test `decision_confidence` passed over (that is what is being computed)."""
    day = x.day
    for i, rule, matches, expires in spec.active_for(category, deciding=True):
        if expires is not None and day is not None and day > expires:
            continue  # RoutingRule.live_on, inlined: this loop runs for every candidate of every routing
        if matches(x, category, p, None):
            return i, rule
    return None


def decision_confidence(spec: RuleSetSpec, x: RoutingInputs) -> tuple[str | None, float]:
    """The department the rules give this report, and the probability that it is right: the sum of the
    probabilities of the candidate categories that this rule set sends to the same department. Rules that
    test `decision_confidence` are passed over here (that is what is being computed).
    Without candidates (a channel or an agent chose the category) it is the category's own confidence."""
    first = _first(spec, x, x.category_code, x.category_confidence)
    department = first[1].then.department if first else None
    if not x.candidates:
        return department, x.category_confidence
    candidates = dict(x.candidates)
    if x.category_code and x.category_code not in candidates:
        candidates[x.category_code] = x.category_confidence
    total = 0.0
    for code, p in candidates.items():
        same = code == x.category_code and p == x.category_confidence  # the inputs themselves: tried above
        hit = first if same else _first(spec, x, code, p)
        if hit is not None and hit[1].then.department == department:
            total += p
    return department, min(total, 1.0)


def _skip_reason(rule: RoutingRule, x: RoutingInputs, confidence: float) -> str | None:
    """Why a rule above the match did not apply (None: it holds)."""
    if rule.state is RuleState.DISABLED:
        return "已停用"
    if not rule.live_on(x.day):
        return f"已于 {rule.expires_on} 到期"
    ok, why = evaluate(rule.when, x, confidence)
    return None if ok else "；".join(why)


def _decided(
    spec: RuleSetSpec,
    x: RoutingInputs,
    confidence: float,
    found: tuple[int, RoutingRule, list[str]] | None,
    skipped: Sequence[Skipped] = (),
    shadow: Sequence[tuple[str, dict[str, Any]]] = (),
) -> RoutingDecision:
    if found is None:
        # parse_rule_set refuses a set without an active catch-all last; a set built by hand may lack one.
        return RoutingDecision(
            department_code=None,
            grade=x.grade or spec.default_grade,
            rule_id=None,
            auto_dispatch=False,
            reasons=["没有规则命中"],
            version=spec.version,
            confidence=round(confidence, 4),
            skipped=tuple(skipped),
            shadow=tuple(shadow),
        )
    i, rule, why = found
    a = rule.then
    department = a.department
    gated = department is not None and not a.hold and confidence < spec.min_decision_confidence
    return RoutingDecision(
        department_code=department,
        grade=x.grade or a.grade or spec.default_grade,
        rule_id=rule.key,
        auto_dispatch=not a.hold and not gated and department is not None,
        reasons=why,
        require_check=a.require_check,
        rule_name=rule.name,
        rule_position=i,
        version=spec.version,
        sla_policy=a.sla_policy,
        notify=a.notify,
        tags=a.tags,
        confidence=round(confidence, 4),
        low_confidence=gated,
        skipped=tuple(skipped),
        shadow=tuple(shadow),
    )


def route(spec: RuleSetSpec, x: RoutingInputs, *, explain: bool = True) -> RoutingDecision:
    """First active matching rule wins (the catch-all at the latest). The grade given (an agent's, a
    channel's) stands, else the rule's, else the set's default. A department whose confidence is below the
    set's minimum is held for an agent. `explain=False` (a back-test's replay): the same decision without
    the reasons, the rules skipped and the shadow hits, which only a decision record needs."""
    _, confidence = decision_confidence(spec, x)
    if not explain:
        day, code, p = x.day, x.category_code, x.category_confidence
        for i, rule, matches, expires in spec.active_for(code):
            if (expires is None or day is None or day <= expires) and matches(x, code, p, confidence):
                return _decided(spec, x, confidence, (i, rule, []))
        return _decided(spec, x, confidence, None)
    skipped: list[Skipped] = []
    shadow: list[tuple[str, dict[str, Any]]] = []
    for i, rule in enumerate(spec.rules, start=1):
        reason = _skip_reason(rule, x, confidence)
        if rule.state is RuleState.SHADOW:
            if reason is None:
                shadow.append((rule.key, rule.then.to_json() | {"position": i}))
            continue
        if reason is not None:
            skipped.append(Skipped(i, rule.key, rule.name, reason))
            continue
        return _decided(spec, x, confidence, (i, rule, evaluate(rule.when, x, confidence)[1]), skipped, shadow)
    return _decided(spec, x, confidence, None, skipped, shadow)


def needs_decision_confidence(spec: RuleSetSpec) -> bool:
    return any(uses_field(r.when, "decision_confidence") for r in spec.rules)
