"""Routing's knobs: which rules file, how often a running process looks whether its inputs changed, the
working week, the 回访 retry policy, and the department's 退单 window and 延期 limits."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from cases import providers
from cases.settings import HotlineSettings


class RoutingSettings(HotlineSettings):
    """The routing rules and their refresh."""

    routing_rules_path: Path | None = Field(
        default=None, description="Routing rules YAML. Unset: the shipped routing/data/rules.yaml."
    )
    routing_refresh_seconds: float = Field(
        default=30.0,
        description="How often a running process looks whether the routing table's inputs (the rules file, "
        "the enabled categories and active departments) changed and rebuilds it when they did. "
        "0: never (restart to pick changes up).",
    )
    working_weekdays: list[int] = Field(
        default=[1, 2, 3, 4, 5],
        description="Working weekdays of the usual week (ISO, Monday = 1), as JSON. Holidays and 调休 make-up "
        "workdays come from the calendar table (`hotline calendar import`).",
    )
    working_periods: list[list[str]] = Field(
        default=[["08:30", "12:00"], ["14:00", "17:30"]],
        description="Working periods of a usual working day in city time, as JSON; working-hour limits count "
        "only these.",
    )
    callback_max_attempts: int = Field(
        default=3,
        ge=1,
        description="回访 calls that reach nobody before the resident is texted the rating link instead and "
        "the case leaves the callback list.",
    )
    callback_retry_minutes: int = Field(
        default=120, ge=1, description="A case whose 回访 call reached nobody is due again this long after."
    )

    sla_policies_path: Path | None = Field(
        default=None,
        description="SLA policies YAML seeded into an empty sla_policy table. Unset: the shipped "
        "routing/data/sla_policies.yaml.",
    )
    return_window_working_hours: float = Field(
        default=7.0,
        ge=0,
        description="A department may return (退单) a case this many working hours after its dispatch; after "
        "that it owns the case (首办负责制). 7 = one working day of the default calendar.",
    )
    extension_max_count: int = Field(
        default=3, ge=0, description="延期 extensions a case may be granted (each one a supervisor's approval)."
    )
    extension_max_days: int = Field(default=3, ge=1, description="Working days one 延期 request may ask for at most.")


SETTINGS = providers.Key("routing settings", RoutingSettings)


def routing_settings() -> RoutingSettings:
    return providers.get(SETTINGS)
