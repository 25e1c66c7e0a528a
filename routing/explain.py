"""A decision record in words: the one sentence the case page shows ("按规则 v7 #3『东门社区暴露垃圾』派给区环境
卫生管理处，因为类别是 06010 暴露垃圾、社区是东门社区") and the rows behind it — the inputs the rules saw, the
outcome, the rules above the match that did not apply with their reason, shadow rules that would have
matched. Pure: the record, the reference names and the place names in, the wording out
(`routing.explanations` loads them for a case)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cases.linking import DUPLICATE_HOLD
from cases.reference import ReferenceNames
from routing.conditions import DAY_KIND_ZH, FIELDS, DayKindName, RoutingInputs
from routing.models import DecisionKind, DecisionRecord
from routing.rules import GRADE_ZH
from routing.work_queue import REASONS_ZH

CHANNEL_ZH = {
    "voice": "电话",
    "sms": "短信",
    "web": "网页",
    "camera": "摄像头",
    "open311": "Open311",
    "api": "接口",
    "agent": "坐席登记",
    "grid": "网格员上报",
}
# The hold reasons only the pipeline's other paths give (the queue's wording has the rest).
OTHER_HOLDS_ZH = {"check requested": "规则要求网格员先核查", DUPLICATE_HOLD: "疑似与未结工单为同一问题（一事多诉）"}
GATE_HOLD = "department confidence below the threshold"
RULE_HOLD = "routing rule holds it for an agent"
CATCH_ALL = "无条件（兜底规则）"


@dataclass(frozen=True)
class Places:
    """Names of communities and streets by code (the grid table's; reference names have grids only)."""

    communities: Mapping[str, str] = field(default_factory=dict)
    streets: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Row:
    label: str
    value: str


@dataclass(frozen=True)
class SkippedRule:
    position: int
    name: str
    reason: str


@dataclass(frozen=True)
class ShadowRule:
    key: str
    position: int | None
    would: str


@dataclass(frozen=True)
class Explanation:
    sentence: str
    kind: str  # a DecisionKind
    held: bool
    at: datetime
    inputs: tuple[Row, ...]
    outcome: tuple[Row, ...]
    skipped: tuple[SkippedRule, ...]
    shadow: tuple[ShadowRule, ...]


def _pct(p: float | None) -> str:
    return "—" if p is None else f"{round(p * 100)}%"


def _category(code: str | None, names: ReferenceNames) -> str:
    if not code:
        return "无"
    name = names.category(code)
    return f"{code} {name}" if name else code


def _department(code: str | None, names: ReferenceNames) -> str:
    return (names.department(code) or code) if code else "（未指定）"


def _community(x: RoutingInputs, places: Places) -> str | None:
    code = x.community_code or (x.grid_code[:12] if x.grid_code else None)
    return places.communities.get(code, code) if code else None


def _street(x: RoutingInputs, places: Places) -> str | None:
    code = x.street_code or (x.grid_code[:9] if x.grid_code else None)
    return places.streets.get(code, code) if code else None


def _field_of(reason: str) -> str | None:
    """Which field a matcher's reason speaks of: each starts with the field's Chinese name."""
    found = [name for name, spec in FIELDS.items() if reason.startswith(spec.name_zh)]
    return max(found, key=lambda n: len(FIELDS[n].name_zh)) if found else None


def because(reasons: Sequence[str], x: RoutingInputs, names: ReferenceNames, places: Places) -> str:
    """The matched rule's reasons with names in place of codes: "类别是 06010 暴露垃圾、社区是东门社区"."""
    said: list[str] = []
    for reason in reasons:
        name = _field_of(reason)
        phrase = {
            "category": lambda: f"类别是 {_category(x.category_code, names)}",
            "grid": lambda: f"网格是{names.grid(x.grid_code) or x.grid_code}",
            "community": lambda: f"社区是{_community(x, places)}",
            "street": lambda: f"街道是{_street(x, places)}",
            "channel": lambda: f"渠道是{CHANNEL_ZH.get(x.channel or '', x.channel)}",
            "day_kind": lambda: f"当天是{_day_kind(x.day_kind)}",
            "grade": lambda: f"等级是{GRADE_ZH.get(x.grade or '', x.grade)}",
        }.get(name or "")
        said.append(phrase() if phrase else reason)
    return "、".join(dict.fromkeys(said))


def _day_kind(kind: str | None) -> str:
    if kind is None:
        return "未知"
    try:
        return DAY_KIND_ZH[DayKindName(kind)]
    except ValueError:
        return kind


def _hold_zh(reason: str) -> str:
    if reason.startswith(DUPLICATE_HOLD):
        return OTHER_HOLDS_ZH[DUPLICATE_HOLD]
    return OTHER_HOLDS_ZH.get(reason) or REASONS_ZH.get(reason, reason)


def _rule(record: DecisionRecord) -> str:
    version = f"v{record.rule_set_version} " if record.rule_set_version is not None else ""
    return f"按规则 {version}#{record.rule_position}『{record.rule_name}』"


def _sentence(
    record: DecisionRecord, x: RoutingInputs, names: ReferenceNames, places: Places, threshold: float | None, who: str
) -> str:
    outcome = record.outcome or {}
    department = _department(record.department_code, names)
    if record.kind == DecisionKind.REASSIGN.value:
        why = "；".join(record.reasons) or "未填写"
        return f"{who}改派给{department}，原因：{why}"
    if record.rule_key is None:
        return "没有规则适用，转人工确认"
    lead = ("坐席确认类别后，" if record.kind == DecisionKind.CONFIRM.value else "") + _rule(record)
    holds = [str(r) for r in outcome.get("hold_reasons") or []]
    if not record.held:
        return f"{lead}派给{department}，因为{_because_rule(record, x, names, places)}"
    if outcome.get("low_confidence") or GATE_HOLD in holds:
        limit = f"（低于 {_pct(threshold)}）" if threshold is not None else "（低于门槛）"
        return f"{lead}应派给{department}，转人工确认，因为派给该部门的把握只有 {_pct(record.confidence)}{limit}"
    if outcome.get("hold") or RULE_HOLD in holds:
        target = f"拟派给{department}，" if record.department_code else ""
        if list(record.reasons) == [CATCH_ALL]:
            return f"{lead}{target}转人工确认，因为上面的规则都不适用"
        return f"{lead}{target}转人工确认，因为该规则要求坐席确认（{_because_rule(record, x, names, places)}）"
    others = "；".join(_hold_zh(r) for r in holds) or "需要坐席确认"
    return f"{lead}拟派给{department}，转人工确认，因为{others}"


def _because_rule(record: DecisionRecord, x: RoutingInputs, names: ReferenceNames, places: Places) -> str:
    reasons = list(record.reasons)
    if reasons == [CATCH_ALL]:
        return "上面的规则都不适用（兜底规则）"
    return because(reasons, x, names, places) or "规则条件成立"


def _inputs(record: DecisionRecord, x: RoutingInputs, names: ReferenceNames, places: Places) -> tuple[Row, ...]:
    rows = [Row("类别", f"{_category(x.category_code, names)}（置信度 {_pct(x.category_confidence)}）")]
    if x.candidates:
        rows.append(Row("候选类别", "；".join(f"{_category(c, names)} {_pct(p)}" for c, p in x.candidates)))
    else:
        rows.append(Row("候选类别", "无（类别由渠道或坐席选定）"))
    if record.confidence is not None and record.kind != DecisionKind.REASSIGN.value:
        rows.append(Row("派遣置信度", f"{_pct(record.confidence)}（候选类别中派给同一部门的概率之和）"))
    grid = f"{names.grid(x.grid_code) or x.grid_code}（{x.grid_code}）" if x.grid_code else "未定位"
    rows += [Row("网格", grid), Row("社区", _community(x, places) or "—"), Row("街道", _street(x, places) or "—")]
    rows.append(Row("渠道", CHANNEL_ZH.get(x.channel or "", x.channel or "—")))
    when = " ".join(
        v for v in (x.day.isoformat() if x.day else "", x.local_time.strftime("%H:%M") if x.local_time else "") if v
    )
    rows.append(Row("收到时间", f"{when or '—'}（{_day_kind(x.day_kind)}）"))
    rows.append(Row("30 天内同号码上报", f"{x.repeat_reports} 次"))
    if x.event_type:
        rows.append(Row("设备事件类型", x.event_type))
    if x.grade:
        rows.append(Row("给定等级", GRADE_ZH.get(x.grade, x.grade)))
    return tuple(rows)


def _outcome(record: DecisionRecord, names: ReferenceNames) -> tuple[Row, ...]:
    o: Mapping[str, Any] = record.outcome or {}
    holds = [_hold_zh(str(r)) for r in o.get("hold_reasons") or []]
    rows = [
        Row("承办单位", _department(record.department_code, names)),
        Row("等级", GRADE_ZH.get(record.grade, record.grade)),
        Row("处理", "转人工确认：" + ("；".join(holds) or "需要坐席确认") if record.held else "立即派遣"),
    ]
    if o.get("require_check"):
        rows.append(Row("核查", "立案前由网格员核查"))
    if o.get("sla_policy"):
        rows.append(Row("时限策略", str(o["sla_policy"])))
    if o.get("notify"):
        rows.append(Row("抄送", "、".join(_department(d, names) for d in o["notify"])))
    if o.get("tags"):
        rows.append(Row("标签", "、".join(str(t) for t in o["tags"])))
    return tuple(rows)


def _shadow(record: DecisionRecord, names: ReferenceNames) -> tuple[ShadowRule, ...]:
    out = []
    for s in (record.outcome or {}).get("shadow") or []:
        would = f"派给{_department(s.get('department'), names)}" if s.get("department") else "交坐席处理"
        if s.get("hold") and s.get("department"):
            would += "（交坐席确认）"
        out.append(ShadowRule(str(s.get("key")), s.get("position"), would))
    return tuple(out)


def explain(
    record: DecisionRecord,
    names: ReferenceNames,
    places: Places | None = None,
    *,
    threshold: float | None = None,
    who: str | None = None,
) -> Explanation:
    """The record in words. `threshold`: the min_decision_confidence of the record's rule-set version (the
    gate's sentence quotes it); `who`: the display name of the record's actor (a 改派's supervisor)."""
    places = places or Places()
    x = RoutingInputs.from_json(record.inputs or {})
    skipped = tuple(
        SkippedRule(int(s.get("position") or 0), str(s.get("name") or s.get("key")), str(s.get("reason") or ""))
        for s in record.skipped or []
    )
    return Explanation(
        sentence=_sentence(record, x, names, places, threshold, who or record.actor),
        kind=record.kind,
        held=record.held,
        at=record.at,
        inputs=_inputs(record, x, names, places),
        outcome=_outcome(record, names),
        skipped=skipped,
        shadow=_shadow(record, names),
    )
