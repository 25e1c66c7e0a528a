"""The counters of one slice of cases (a department, a street, a day or a period) and the rates made of
them. Pure: counters add, rates divide, and each rate says exactly what it counts (`DEFINITIONS`), so the
page, the exports and the 考核表 show one wording."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields


@dataclass
class Counters:
    """What happened in a slice over a period. Attribution: clock counters go to the department the clock
    ran for (the department that had the case then); the others to the case's department; streets to the
    street of the case's grid."""

    dispatched: int = 0  # 派遣: 签收 clocks started (each 派遣, re-dispatch or 审定 starts one)
    sign_met: int = 0  # 签收 clocks ended by the department's own step (签收, or 反馈 at once) in time
    sign_late: int = 0  # … after the deadline
    handle_met: int = 0  # 办结 clocks ended by 反馈 in time
    handle_late: int = 0  # … after the deadline
    returned: int = 0  # 退单: clocks stopped by a return
    reopened: int = 0  # 重开 moves
    extended: int = 0  # 延期 granted (a supervisor's approval, or an agent's direct 延期)
    rated: int = 0  # residents' ratings given
    satisfied: int = 0  # … of them 满意 or 基本满意
    yellow: int = 0  # 黄牌督办 given
    red: int = 0  # 红牌督办 given

    def add(self, other: Counters) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    @property
    def late(self) -> int:
        """Clocks that ended late (签收 or 办结): the 考核表's 超时."""
        return self.sign_late + self.handle_late

    def is_empty(self) -> bool:
        return not any(getattr(self, f.name) for f in fields(self))


COUNTER_NAMES: tuple[str, ...] = tuple(f.name for f in fields(Counters))


def total(items: Iterable[Counters]) -> Counters:
    out = Counters()
    for c in items:
        out.add(c)
    return out


def ratio(numerator: int, denominator: int) -> float | None:
    """numerator / denominator, or None when nothing was counted (shown as —, never as 0 % or 100 %)."""
    return numerator / denominator if denominator else None


@dataclass(frozen=True)
class Rate:
    key: str
    name: str
    numerator: str
    denominator: str
    note: str

    def of(self, c: Counters) -> float | None:
        return ratio(*self.parts(c))

    def parts(self, c: Counters) -> tuple[int, int]:
        return _PARTS[self.key](c)


_PARTS = {
    "sign": lambda c: (c.sign_met, c.sign_met + c.sign_late),
    "handle": lambda c: (c.handle_met, c.handle_met + c.handle_late),
    "satisfaction": lambda c: (c.satisfied, c.rated),
    "return": lambda c: (c.returned, c.dispatched),
    "reopen": lambda c: (c.reopened, c.handle_met + c.handle_late),
    "extension": lambda c: (c.extended, c.dispatched),
}

_PERIOD = "统计期内（按城市时间的自然日）"
RATES: tuple[Rate, ...] = (
    Rate(
        "sign",
        "响应及时率",
        "按时签收的签收时限数",
        "统计期内结束的签收时限中，由承办单位签收（或直接反馈）结束的时限数（按时 + 超时）",
        f"{_PERIOD}结束的签收时限；时限从派遣起算，暂停（补充材料、延期审批中）不计时，批准的延期计入期限；"
        "因退单、重开、改派而结束的时限不计入（退单计入退单率）；尚未签收的计入超时清单。按时限所属承办单位统计。",
    ),
    Rate(
        "handle",
        "按期办结率",
        "按期反馈的办结时限数",
        "统计期内由反馈结束的办结时限数（按期 + 超期）",
        f"{_PERIOD}结束的办结时限；时限从签收起算，至反馈止，暂停与延期同上；核实未通过后的新一轮办结时限另计一次。"
        "按时限所属承办单位统计。",
    ),
    Rate(
        "satisfaction",
        "满意率",
        "评价为满意或基本满意的次数",
        "统计期内市民评价总次数（满意 + 基本满意 + 不满意）",
        f"{_PERIOD}给出的评价，来自回访电话、短信评价链接、查询页和坐席回访登记；同一轮办理每位反映人计一次。"
        "按工单当前承办单位统计。",
    ),
    Rate(
        "return",
        "退单率",
        "退单次数",
        "统计期内派遣次数（派遣、退单后再派遣、审定各计一次）",
        f"{_PERIOD}发生的退单与派遣；按退单时持有工单的承办单位统计。",
    ),
    Rate(
        "reopen",
        "重开率",
        "重开次数",
        "统计期内反馈结束的办结时限数（即反馈次数）",
        f"{_PERIOD}的重开（市民不满意或误结案后重新办理）；按工单当前承办单位统计。",
    ),
    Rate(
        "extension",
        "延期率",
        "批准的延期次数（班长批准申请，或坐席直接延期）",
        "统计期内派遣次数",
        f"{_PERIOD}批准的延期；按工单当前承办单位统计。",
    ),
)
RATE_BY_KEY = {r.key: r for r in RATES}


def percent(value: float | None) -> str:
    """A rate as the page and the exports show it: 96.3 %, or — when nothing was counted."""
    return "—" if value is None else f"{value * 100:.1f}%"
