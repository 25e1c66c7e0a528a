"""All people's pages, for the app factory to include (and `agent_ui.errors.add_handlers`)."""

from __future__ import annotations

from fastapi import APIRouter

from agent_ui import login, static
from agent_ui.admin import departments as admin_departments
from agent_ui.admin import users as admin_users
from agent_ui.callbacks import views as callbacks
from agent_ui.department import case as department_case
from agent_ui.department import queue as department_queue
from agent_ui.grid import views as grid
from agent_ui.supervisor import backtest as supervisor_backtest
from agent_ui.supervisor import calendar as supervisor_calendar
from agent_ui.supervisor import dashboard as supervisor_dashboard
from agent_ui.supervisor import decisions as supervisor_decisions
from agent_ui.supervisor import hotline as supervisor_hotline
from agent_ui.supervisor import hotspots as supervisor_hotspots
from agent_ui.supervisor import rule_editor, rule_versions, supervision
from agent_ui.supervisor import rules as supervisor_rules
from agent_ui.workbench import calls, case_actions, case_page, new_case
from agent_ui.workbench import queue as workbench_queue

router = APIRouter()
router.include_router(static.router)
router.include_router(login.router)
router.include_router(admin_users.router)
router.include_router(admin_departments.router)
router.include_router(supervision.router)
router.include_router(supervisor_backtest.router)  # before /supervisor/rules/{…} of the editor
router.include_router(supervisor_dashboard.router)
router.include_router(new_case.router)
router.include_router(calls.router)
router.include_router(case_actions.router)
router.include_router(callbacks.router)
router.include_router(supervisor_calendar.router)
router.include_router(workbench_queue.router)
router.include_router(case_page.router)
router.include_router(department_queue.router)
router.include_router(department_case.router)
router.include_router(supervisor_decisions.router)
router.include_router(supervisor_hotline.router)
router.include_router(supervisor_hotspots.router)
router.include_router(supervisor_rules.router)
router.include_router(rule_editor.router)
router.include_router(rule_versions.router)
router.include_router(grid.router)
