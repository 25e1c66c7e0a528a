"""The roles a person can hold, and what each one is called in the audit trail and on the page."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    AGENT = "agent"  # hotline agent (坐席)
    SUPERVISOR = "supervisor"  # 班长 / 监督员
    DEPARTMENT = "department"  # 承办单位工作人员, bound to one department
    GRID_WORKER = "grid_worker"  # 网格员, bound to one or more grids
    ADMIN = "admin"  # 系统管理员: accounts only


ROLE_LABELS_ZH: dict[Role, str] = {
    Role.AGENT: "坐席",
    Role.SUPERVISOR: "班长",
    Role.DEPARTMENT: "承办单位",
    Role.GRID_WORKER: "网格员",
    Role.ADMIN: "系统管理员",
}

# The actor kind (cases.reference.ACTOR_KINDS) a role's actions are recorded under.
ACTOR_KIND: dict[Role, str] = {
    Role.AGENT: "agent",
    Role.SUPERVISOR: "supervisor",
    Role.DEPARTMENT: "dept",
    Role.GRID_WORKER: "grid",
    Role.ADMIN: "admin",
}


class LoginEvent(StrEnum):
    """`LoginAudit.event`."""

    SUCCESS = "success"
    FAILURE = "failure"
    LOCKOUT = "lockout"
    LOCKED = "locked"  # a correct or wrong password while the account is locked out
    LOGOUT = "logout"
    EXPIRED = "expired"  # the session timed out while idle
