"""`/dept/`: the department portal — its queue, a case as the department sees it, and the department's
forms (签收, 退单, 延期申请, 反馈, 进展备注, 补充材料/恢复)."""
