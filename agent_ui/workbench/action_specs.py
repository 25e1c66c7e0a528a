"""Which case actions the console offers to whom, in Chinese, and how a refused action is explained.
Pure: no I/O. The lifecycle (cases.lifecycle) says what a status allows and which actions need a reason;
this says which of those a hotline agent does from the case page, and which ask before they act."""

from __future__ import annotations

import re
from dataclasses import dataclass

from agent_ui.accounts.roles import Role
from cases.lifecycle import (
    ACTION_LABELS_ZH,
    LABELS_ZH,
    REASON_REQUIRED,
    Action,
    CaseStatus,
    IllegalTransition,
    allowed_actions,
)
from routing.rules import RulesError

A = Action

# The lifecycle buttons of the panel, for the hotline (agents and supervisors). Not here, on purpose:
# 派遣 (the confirm/dispatch button with its preview), 合并 and 备注 (their own forms); 签收 and 处置反馈
# (the department's, on its portal); 回访 (the callbacks page records it with the rating use case);
# 延期 (its own form: how many working days, routing.review.extend_case).
HOTLINE_ACTIONS: tuple[Action, ...] = (
    A.REGISTER,
    A.VERIFY,
    A.VERIFY_FAIL,
    A.CLOSE,
    A.ESCALATE,
    A.RETURN,
    A.REOPEN,
    A.REJECT,
)
HOTLINE_ROLES = frozenset({Role.AGENT, Role.SUPERVISOR})

# Actions that end or undo work: the button asks once more.
CONFIRM_ZH: dict[Action, str] = {
    A.REJECT: "确定不予立案？此操作将结束该工单。",
    A.RETURN: "确定退单？工单将退回热线重新派遣。",
    A.CLOSE: "确定结案？",
    A.REOPEN: "确定重开该工单？",
    A.MERGE: "确定合并？本工单的反映将并入目标工单，本工单结束。",
}


@dataclass(frozen=True)
class ActionChoice:
    action: Action
    label: str
    needs_reason: bool
    confirm: str | None

    @property
    def danger(self) -> bool:
        return self.confirm is not None


def choice(action: Action) -> ActionChoice:
    return ActionChoice(action, ACTION_LABELS_ZH[action], action in REASON_REQUIRED, CONFIRM_ZH.get(action))


def lifecycle_choices(status: CaseStatus | str, role: Role) -> list[ActionChoice]:
    """The lifecycle buttons for a case in `status`, shown to a person in `role` (in the panel's order)."""
    if role not in HOTLINE_ROLES:
        return []
    allowed = set(allowed_actions(status))
    return [choice(a) for a in HOTLINE_ACTIONS if a in allowed]


def offered(action: Action, status: CaseStatus | str, role: Role) -> bool:
    return any(c.action == action for c in lifecycle_choices(status, role))


# --- refusals in Chinese ------------------------------------------------------------------------------

# What the use cases say (one English line for logs and the CLI) → what the agent reads.
_MESSAGES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p), zh)
    for p, zh in (
        (r"a category is needed", "请先选择事项类别"),
        (r"no grid: name the grid", "请选择网格：没有网格，承办单位不知道去哪里处置"),
        (r"unknown grid", "网格编码不存在，请从列表中选择"),
        (r"unknown category .*component", "这是部件编码，请选择对应的事件类别"),
        (r"unknown category", "事项类别不存在，请从列表中选择"),
        (r"category .* is disabled", "该事项类别已停用，请选择其他类别"),
        (r"unknown department", "承办单位不存在，请从列表中选择"),
        (r"department .* is inactive", "该承办单位已停用，请选择其他单位"),
        (r"no routing rule for category", "该类别没有派遣规则，请指定承办单位"),
        (r"waits for an agent's confirmation", "该工单待坐席确认，请使用“确认派遣”"),
        (r"only a registered case can be confirmed", "只有已立案、待确认的工单可以确认派遣"),
        (r"nothing to correct", "类别和网格都没有改动"),
        (r"is not re-tagged", "工单已结束，不能更正类别"),
        (r"cannot be merged into itself", "不能合并到工单自身"),
        (r"merge into an open case", "目标工单已结束（已结案、不予立案或已合并），请合并到未结束的工单"),
        (r"has no reporter phone", "该工单没有反映人电话，无法发送短信"),
        (r"opted out of SMS", "反映人已退订短信，无法发送"),
        (r"unknown reply template", "请选择短信模板"),
        (r"an extension is one of", "请选择延期的工作日数"),
        (r"a merge needs a reason|needs a reason", "请填写原因"),
    )
)


_CHINESE = re.compile(r"[\u4e00-\u9fff]")


def refusal_zh(exc: Exception) -> str:
    """The Chinese sentence for a refused action (IllegalTransition, InvalidInput, ReviewError, RulesError…)."""
    if isinstance(exc, IllegalTransition):
        return f"当前状态为“{LABELS_ZH[exc.status]}”，不能{ACTION_LABELS_ZH[exc.action]}"
    if isinstance(exc, RulesError):
        return "派遣规则配置有误，暂时无法派遣，请联系系统管理员"
    text = str(exc)
    for pattern, zh in _MESSAGES:
        if pattern.search(text):
            return zh
    if _CHINESE.search(text):
        return text  # the use case already speaks to the person (routing.department, the 审定 refusal)
    return "操作未能完成，请检查填写内容后重试"
