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
        default=None,
        description="The rules YAML that seeds version 1 of the rule set into an empty database. Unset: the "
        "shipped routing/data/rules.yaml. Later versions are published in the console or by `hotline rules import`.",
    )
    routing_refresh_seconds: float = Field(
        default=5.0,
        description="How often a running process looks whether the routing table's inputs (the published rule set, "
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
    # 一事多诉 (cases/linking.py): which open case a new report is proposed to join.
    duplicate_window_hours: float = Field(
        default=72.0,
        ge=0,
        description="A report is proposed as a duplicate of an open case of its category opened at most this "
        "long before it (0: never). 72 h: a Friday-evening report and its Monday-morning repeat, while a "
        "recurring nuisance a week later is a new case.",
    )
    duplicate_distance_m: float = Field(
        default=50.0,
        ge=0,
        description="Besides the same grid, an open case whose report is within this many metres of the new "
        "report's point (both with a point) is of the same place, across a grid boundary too.",
    )
    duplicate_min_similarity: float = Field(
        default=0.3,
        ge=0,
        le=1,
        description="Least text similarity (shared character pairs of the shorter text, after fillers, "
        "boilerplate and the category's own name) for a duplicate proposal; camera alerts skip the test.",
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


class EscalationSettings(HotlineSettings):
    """The escalation ladder's file and sweep, and how departments are told (SMS, webhooks)."""

    escalation_ladder_path: Path | None = Field(
        default=None, description="Escalation ladder YAML. Unset: the shipped routing/data/escalation.yaml."
    )
    escalation_batch_size: int = Field(
        default=200,
        ge=1,
        le=10000,
        description="Running SLA clocks the escalation sweep reads per query (due soonest first; it pages on "
        "until it has seen every clock due within the look-ahead).",
    )
    escalation_lookahead_days: float = Field(
        default=30.0,
        gt=0,
        description="The sweep looks at running clocks due within this many days (or overdue): a clock due "
        "later cannot have used 80 % of any limit the policies set. Raise it with very long limits.",
    )
    notice_webhook_timeout_seconds: float = Field(
        default=10.0, gt=0, le=120, description="A department webhook must answer within this (else a retry)."
    )
    notice_stuck_minutes: int = Field(
        default=15,
        ge=1,
        description="A department notice still pending this long after it was written is listed with the "
        "failed ones (its job was lost) for an admin to retry.",
    )


ESCALATION_SETTINGS = providers.Key("escalation settings", EscalationSettings)


def escalation_settings() -> EscalationSettings:
    return providers.get(ESCALATION_SETTINGS)


class HotspotSettings(HotlineSettings):
    """The hotspot test (routing.hotspots) and its SMS to supervisors."""

    hotspot_window_days: int = Field(
        default=3, ge=1, le=14, description="Days of reports a hotspot is counted over (the last N × 24 hours)."
    )
    hotspot_baseline_days: int = Field(
        default=56, ge=7, le=365, description="Days before the window whose daily rate the window is tested against."
    )
    hotspot_alpha: float = Field(
        default=0.001,
        gt=0,
        lt=0.5,
        description="A pair is a hotspot when P(X ≥ count) under its baseline (Poisson) is below this.",
    )
    hotspot_min_count: int = Field(default=5, ge=1, description="Fewer reports in the window are never a hotspot.")
    hotspot_sms: bool = Field(
        default=True, description="Text every active supervisor with a phone once per new hotspot episode."
    )
    hotspot_sweep_minutes: float = Field(
        default=10.0, gt=0, description="The periodic hotspot test runs at most this often in one process."
    )


HOTSPOT_SETTINGS = providers.Key("hotspot settings", HotspotSettings)


def hotspot_settings() -> HotspotSettings:
    return providers.get(HOTSPOT_SETTINGS)
