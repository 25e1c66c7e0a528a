"""How the console words and draws things: the timeline in plain words with who did what, channel
icons, deadline colours, and the small grid map as SVG. Pure functions (no database, no clock of their
own): the page's read models give them rows and names, tests give them values.

The resident-facing sentences are `cases.queries.SENTENCES`; staff read every event, internal ones too,
with the reasons and the data that matter."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from cases.lifecycle import LABELS_ZH, CaseStatus
from cases.linking import DUPLICATE_HOLD
from cases.queries import SENTENCES  # the resident's sentences: an event without one is internal
from routing.gridmap import GridOutline


class Names(Protocol):
    def category(self, code: str | None, active_only: bool = False) -> str | None: ...
    def grid(self, code: str | None) -> str | None: ...
    def department(self, code: str | None) -> str | None: ...


# --- who ------------------------------------------------------------------------------------------

# Machines and residents, by their audit names: what a person on the page calls them.
MACHINE_ACTORS = {
    "system:pipeline": "系统（自动分拨）",
    "system:voicemail": "系统（留言转写）",
    "system:ivr": "语音导航",
    "system:sms": "短信平台",
    "system:camera": "摄像头",
    "camera": "摄像头",
    "resident:web": "市民（网页）",
}
KIND_LABELS = {
    "agent": "坐席",
    "supervisor": "班长",
    "dept": "承办单位",
    "grid": "网格员",
    "admin": "系统管理员",
    "system": "系统",
    "resident": "市民",
    "camera": "摄像头",
}


def actor_label(actor: str, people: Mapping[str, str]) -> str:
    """`agent:li` → 李明（坐席） when the account is known; machines and residents in Chinese."""
    if actor in MACHINE_ACTORS:
        return MACHINE_ACTORS[actor]
    kind, _, name = actor.partition(":")
    kind_zh = KIND_LABELS.get(kind)
    if actor in people:
        return f"{people[actor]}（{kind_zh}）" if kind_zh else people[actor]
    if kind in ("system", "resident", "camera"):
        return kind_zh or actor
    if kind_zh and name:
        return f"{name}（{kind_zh}）"  # an account since removed: its username is still who it was
    return actor


# --- what -----------------------------------------------------------------------------------------

# The pipeline's and the routing rules' reasons are written for logs; staff read them in Chinese.
REASONS_ZH = {
    "channel asks for an agent's confirmation": "渠道要求坐席确认",
    "no category": "未能判断类别",
    "no department for the category": "该类别没有对应的承办单位",
    "no grid": "未能确定网格",
    "routing rule holds it for an agent": "路由规则要求坐席确认",
    "classifier confidence below the threshold": "分类置信度低于阈值",
    "department confidence below the threshold": "派遣置信度低于门槛（承办单位不确定）",
    "classifier confidence below the category's own threshold": "置信度低于该类别的门槛",
    "grid confidence below the threshold": "网格定位置信度低于阈值",
    "no rule matches the category": "没有匹配该类别的路由规则",
    "chosen by the agent who took the call": "接听坐席在通话中选定",
    "chosen by the grid worker on site": "网格员巡查上报时选定",
}
GRID_SOURCES_ZH = {
    "gps": "定位坐标",
    "text": "描述中的地名",
    "camera": "摄像头所在网格",
    "history": "该号码以往的反映",
    "community": "仅能确定社区",
    "agent": "坐席选定",
    "none": "无依据",
}
CHANNELS = {
    "voice": ("电话", "phone"),
    "sms": ("短信", "message-square"),
    "web": ("网页", "globe"),
    "camera": ("摄像头", "cctv"),
    "open311": ("Open311", "layout-grid"),
    "api": ("接口", "code"),
    "agent": ("坐席登记", "headset"),
}
GRADES_ZH = {"normal": "一般", "urgent": "紧急", "critical": "特急"}
SMS_NOTES_ZH = {
    "report": "反映",
    "append": "补充",
    "query": "查询",
    "stop": "退订",
    "start": "恢复订阅",
    "help": "帮助",
    "case_number": "工单号通知",
    "dispatch": "派遣通知",
    "completion": "办结通知",
    "merged": "合并办理通知",
    "survey": "回访",
    "reply": "坐席回复",
    "agent_reply": "坐席回复",
}


def reasons_zh(reason: str | None) -> str | None:
    """'no grid; rule r3' → '未能确定网格；路由规则 r3'."""
    if not reason:
        return None
    parts = []
    for part in (p.strip() for p in reason.split(";")):
        if not part:
            continue
        if part in REASONS_ZH:
            parts.append(REASONS_ZH[part])
        elif part.startswith("rule "):
            parts.append(f"路由规则 {part[5:]}")
        elif part.startswith(DUPLICATE_HOLD):
            number = part[len(DUPLICATE_HOLD) :].strip()
            parts.append(f"疑似与未结工单 {number} 为同一问题（一事多诉），请坐席判断是否合并")
        else:
            parts.append(part)
    return "；".join(parts) or None


def percent(confidence: Any) -> str:
    try:
        value = float(confidence)
    except (TypeError, ValueError):
        return "—"
    return f"{round(value * 100)}%"


def channel_of(channel: str, voicemail: bool = False) -> tuple[str, str]:
    """(label, icon name) of a report's channel."""
    if voicemail:
        return "语音留言", "voicemail"
    return CHANNELS.get(channel, (channel, "file-text"))


def sms_note(kind: str | None) -> str:
    return SMS_NOTES_ZH.get(kind or "", kind or "")


@dataclass(frozen=True)
class EventLine:
    at: datetime
    who: str
    text: str
    details: list[str] = field(default_factory=list)
    internal: bool = False  # not shown to the resident (cases.queries.SENTENCES leaves it out)


def _named(names: Names, kind: str, code: Any) -> str:
    if not code:
        return "（无）"
    look = {"category": names.category, "grid": names.grid, "department": names.department}[kind]
    name = look(str(code))
    return f"{name}（{code}）" if name else str(code)


def _change(names: Names, kind: str, label: str, pair: Any) -> str | None:
    if not isinstance(pair, list | tuple) or len(pair) != 2:
        return None
    before, after = pair
    if before == after:
        return f"{label}：{_named(names, kind, after)}"
    return f"{label}：{_named(names, kind, before)} → {_named(names, kind, after)}"


def _deadline(data: Mapping[str, Any], key: str, local: Callable[[datetime], str]) -> str | None:
    raw = data.get(key)
    if not isinstance(raw, str):
        return None
    try:
        return local(datetime.fromisoformat(raw))
    except ValueError:
        return None


def _classify(data: Mapping[str, Any], names: Names) -> tuple[str, list[str]]:
    category = _named(names, "category", data.get("category_code"))
    text = f"机器分类：{category}，置信度 {percent(data.get('category_confidence'))}"
    details = []
    if data.get("grid_code"):
        source = GRID_SOURCES_ZH.get(str(data.get("grid_source")), str(data.get("grid_source") or ""))
        grid = _named(names, "grid", data.get("grid_code"))
        details.append(f"网格：{grid}，置信度 {percent(data.get('grid_confidence'))}，依据{source}")
    else:
        details.append("未能确定网格")
    if data.get("transcript"):
        details.append(f"留言转写：{data['transcript']}")
    return text, details


def _photo_count(data: Mapping[str, Any]) -> list[str]:
    photos = data.get("photos")
    return [f"现场照片 {len(photos)} 张"] if isinstance(photos, list) and photos else []


def _duplicate_details(data: Mapping[str, Any]) -> list[str]:
    """Why intake thinks two reports are one matter: the place and the words."""
    details = ["同一网格"] if data.get("same_grid") else []
    if isinstance(data.get("distance_m"), int | float):
        details.append(f"相距约 {round(data['distance_m'])} 米")
    similarity = data.get("similarity")
    details.append(f"文字相似度 {percent(similarity)}" if similarity is not None else "未比较文字（摄像头或无文字）")
    return details


def _simple(
    action: str, data: Mapping[str, Any], names: Names, local: Callable[[datetime], str]
) -> tuple[str, list[str]] | None:
    dept = _named(names, "department", data.get("department_code")) if data.get("department_code") else "承办单位"
    handle_by = _deadline(data, "handle_deadline", local)
    asked = data.get("working_days")
    texts: dict[str, tuple[str, list[str]]] = {
        "open": (f"创建工单「{data.get('title') or '（无标题）'}」", []),
        "link_report": (
            f"关联一条新的反映（{channel_of(str(data.get('channel') or ''))[0]}，反映 #{data.get('report_id')}）",
            [f"由工单 {data['merged_from']} 合并而来"] if data.get("merged_from") else [],
        ),
        "hold_for_agent": ("暂不派遣，转坐席确认", []),
        "check_requested": ("立案前须网格员现场核查", []),
        "check": ("网格员现场核查属实", _photo_count(data)),
        "reveal_phone": (f"查看了反映 #{data.get('report_id')} 的完整电话号码", []),
        "register": ("立案", [f"渠道：{channel_of(str(data['channel']))[0]}"] if data.get("channel") else []),
        "reject": ("不予立案", []),
        "dispatch": (f"派遣至{dept}", [f"处置期限：{handle_by}"] if handle_by else []),
        "accept": ("承办单位开始处置", []),
        "return": ("承办单位退单", []),
        "handle": ("承办单位反馈处置完毕", _photo_count(data)),
        "verify": ("核实通过", _photo_count(data)),
        "verify_fail": ("核实未通过，退回继续处置", _photo_count(data)),
        "survey": ("回访完成", []),
        "close": ("结案", []),
        "reopen": ("重新办理", []),
        "merge": (f"合并至工单 {data.get('into') or data.get('merged_into') or ''}".rstrip(), []),
        "escalate": ({"yellow": "黄牌督办", "red": "红牌督办"}.get(str(data.get("supervision")), "督办"), []),
        "urge": ("催办承办单位", []),
        "sla_warning": (
            "时限预警，已短信提醒承办单位",
            [f"已用时限 {percent(data['used'])}"] if data.get("used") else [],
        ),
        "extend": ("延长处置期限", _extension_details(data, handle_by)),
        "request_extension": (f"承办单位申请延期{asked}个工作日" if asked else "承办单位申请延期", []),
        "refuse_extension": ("驳回延期申请，恢复计时", []),
        "request_info": ("等待市民补充材料，暂停计时", []),
        "resume": ("材料已补充，恢复计时", []),
        "rule": (f"审定：由{dept}办理（不得再退单）", [f"处置期限：{handle_by}"] if handle_by else []),
        "reassign": (
            f"改派：由{_named(names, 'department', data.get('from_department'))}改派至{dept}",
            [f"处置期限：{handle_by}"] if handle_by else [],
        ),
        "sla_recalculated": ("按现行时限标准重新计算期限", []),
        "note": ("备注", []),
        "sms_reply": ("短信回复反映人", []),
        "duplicate_proposed": (f"系统建议合并至工单 {data.get('candidate') or ''}".rstrip(), _duplicate_details(data)),
    }
    return texts.get(action)


def _extension_details(data: Mapping[str, Any], handle_by: str | None) -> list[str]:
    details = [f"延长 {data['working_days']} 个工作日"] if data.get("working_days") else []
    return details + ([f"新的处置期限：{handle_by}"] if handle_by else [])


_NOTE_KEYS = (("text", "短信内容"), ("transcript", "留言转写"), ("comment", "意见"), ("rating", "评价"))


def describe_events(
    events: Iterable[Any], *, people: Mapping[str, str], names: Names, local: Callable[[datetime], str] = str
) -> list[EventLine]:
    """A timeline in plain words: `describe_event` for each CaseEvent-like row (the console's and the
    department's case pages read the same words)."""
    return [
        describe_event(
            at=e.at,
            actor=e.actor,
            action=e.action,
            reason=e.reason,
            data=e.data,
            from_status=e.from_status,
            to_status=e.to_status,
            people=people,
            names=names,
            local=local,
        )
        for e in events
    ]


def describe_event(
    *,
    at: datetime,
    actor: str,
    action: str,
    reason: str | None,
    data: Mapping[str, Any],
    from_status: str | None,
    to_status: str | None,
    people: Mapping[str, str],
    names: Names,
    local: Callable[[datetime], str] = str,
) -> EventLine:
    """One CaseEvent in plain words: who, what, and the reason and data that matter."""
    who = actor_label(actor, people)
    if action == "classify":
        text, details = _classify(data, names)
    elif action in ("confirm", "correct"):
        text = "确认机器分类" if action == "confirm" else "更正分类"
        changes = (
            _change(names, "category", "类别", data.get("category_code")),
            _change(names, "grid", "网格", data.get("grid_code")),
        )
        details = [c for c in changes if c]
    else:
        known = _simple(action, data, names, local)
        text, details = known if known is not None else (action, [])
        details = list(details)
        if action in ("note", "sms_reply") or data.get("rating"):
            details += [f"{label}：{data[key]}" for key, label in _NOTE_KEYS if data.get(key)]
    said = reasons_zh(reason)
    if said:
        details.insert(0, f"原因：{said}" if action != "note" else said)
    if from_status and to_status and from_status != to_status:
        details.append(f"状态：{status_zh(from_status)} → {status_zh(to_status)}")
    return EventLine(at, who, text, details, internal=action not in SENTENCES)


def status_zh(value: str) -> str:
    try:
        return LABELS_ZH[CaseStatus(value)]
    except ValueError:
        return value


# --- when -----------------------------------------------------------------------------------------


def deadline_class(deadline: datetime | None, now: datetime, done: bool = False) -> str:
    """The console's deadline colour: due-bad when past, due-warn within 4 hours, else due-ok."""
    if deadline is None or done:
        return "due-none"
    if deadline <= now:
        return "due-bad"
    if deadline - now <= timedelta(hours=4):
        return "due-warn"
    return "due-ok"


# --- where: the grid map as SVG --------------------------------------------------------------------


@dataclass(frozen=True)
class MapShape:
    code: str
    name: str
    rings: list[str]  # SVG polygon `points` values
    label: tuple[float, float]
    main: bool


@dataclass(frozen=True)
class MapDrawing:
    width: int
    height: int
    shapes: list[MapShape]
    dot: tuple[float, float] | None


def project_map(
    grid: GridOutline,
    neighbours: Sequence[GridOutline],
    point: tuple[float, float] | None,
    width: int = 340,
    height: int = 220,
    pad: int = 12,
) -> MapDrawing:
    """The grid, its neighbours and the report's point (lon, lat) in an SVG box: equirectangular with the
    longitude shrunk by cos(latitude) so squares stay square, north up, fitted and centred inside `pad`.
    A point far outside the drawn grids is left out rather than shrinking the grids to a speck."""
    outlines = [grid, *neighbours]
    xs = [x for o in outlines for ring in o.rings for x, _ in ring]
    ys = [y for o in outlines for ring in o.rings for _, y in ring]
    if point is not None and not _near(point, xs, ys):
        point = None
    if point is not None:
        xs.append(point[0])
        ys.append(point[1])
    min_x, max_x, min_y, max_y = min(xs), max(xs), min(ys), max(ys)
    k = math.cos(math.radians((min_y + max_y) / 2))
    span_x, span_y = max((max_x - min_x) * k, 1e-9), max(max_y - min_y, 1e-9)
    scale = min((width - 2 * pad) / span_x, (height - 2 * pad) / span_y)
    off_x = (width - span_x * scale) / 2
    off_y = (height - span_y * scale) / 2

    def at(lon: float, lat: float) -> tuple[float, float]:
        return round(off_x + (lon - min_x) * k * scale, 1), round(off_y + (max_y - lat) * scale, 1)

    shapes = [
        MapShape(
            o.code,
            o.name,
            [" ".join(f"{x},{y}" for x, y in (at(lon, lat) for lon, lat in ring)) for ring in o.rings],
            at(*o.label),
            o is grid,
        )
        for o in outlines
    ]
    return MapDrawing(width, height, shapes, at(*point) if point is not None else None)


def _near(point: tuple[float, float], xs: list[float], ys: list[float]) -> bool:
    dx, dy = max(xs) - min(xs), max(ys) - min(ys)
    return min(xs) - dx <= point[0] <= max(xs) + dx and min(ys) - dy <= point[1] <= max(ys) + dy
