"""How the department portal explains a refused form, in Chinese. Pure: no I/O."""

from __future__ import annotations

import re

from cases.lifecycle import ACTION_LABELS_ZH, LABELS_ZH, IllegalTransition

_CJK = re.compile(r"[\u4e00-\u9fff]")


class Refusal(Exception):
    """A form the portal refuses before any use case runs (the message is for the department)."""


def refusal_zh(exc: Exception) -> str:
    """The Chinese sentence for a refused action. The department's use cases refuse in Chinese already
    (`routing.department`); a move the lifecycle does not allow is named by status and action."""
    if isinstance(exc, IllegalTransition):
        return f"工单当前状态为“{LABELS_ZH[exc.status]}”，不能{ACTION_LABELS_ZH[exc.action]}（页面可能已过期，请刷新）"
    text = str(exc)
    if _CJK.search(text):
        return text
    return "操作未能完成，请检查填写内容后重试"
