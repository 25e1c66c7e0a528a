"""Rule matching and deadlines over the working calendar: pure functions, no database. (The time limits
themselves are SLA policies: tests/unit/test_sla_policies.py.)"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
import yaml

from routing.rules import RulesError, dump_rule_file, parse_rule_set, route
from routing.sla import TimeLimit, WorkingCalendar, deadline
from tests.rules_helpers import shipped, sure

TZ = ZoneInfo("Asia/Shanghai")
CAL = WorkingCalendar(tz=TZ)


def local(y: int, m: int, d: int, h: int, mi: int = 0) -> datetime:
    return datetime(y, m, d, h, mi, tzinfo=TZ)


def test_working_hours_skip_lunch_and_nights() -> None:
    # Wednesday 11:00 + 4 working hours: 1 h before lunch, 3 h after 14:00 → 17:00.
    assert deadline(local(2026, 11, 25, 11), TimeLimit(4, "working_hours"), CAL) == local(2026, 11, 25, 17)
    # Friday 17:00 + 1 working hour: 30 min Friday, 30 min Monday morning.
    assert deadline(local(2026, 11, 27, 17), TimeLimit(1, "working_hours"), CAL) == local(2026, 11, 30, 9)


def test_report_at_night_starts_next_morning() -> None:
    assert deadline(local(2026, 11, 25, 23), TimeLimit(0.5, "working_hours"), CAL) == local(2026, 11, 26, 9)


def test_working_days_and_holidays() -> None:
    cal = WorkingCalendar(tz=TZ, holidays=frozenset({local(2026, 11, 26, 0).date()}))
    # 1 working day = 7 working hours; Thursday is a holiday.
    assert deadline(local(2026, 11, 25, 8, 30), TimeLimit(1, "working_days"), cal) == local(2026, 11, 25, 17, 30)
    assert deadline(local(2026, 11, 25, 14), TimeLimit(1, "working_days"), cal) == local(2026, 11, 27, 12)


def test_calendar_hours_ignore_the_calendar() -> None:
    start = datetime(2026, 11, 25, 0, tzinfo=UTC)
    assert deadline(start, TimeLimit(48, "hours"), CAL) == datetime(2026, 11, 27, 0, tzinfo=UTC)


def test_naive_start_is_refused() -> None:
    with pytest.raises(ValueError):
        deadline(datetime(2026, 1, 1), TimeLimit(1, "hours"), CAL)


def test_shipped_rules_route_common_categories() -> None:
    table = shipped()
    assert route(table, sure("06010")).department_code == "sanitation"
    manhole = route(table, sure("01002"))
    assert (manhole.department_code, manhole.grade) == ("municipal", "urgent")
    assert route(table, sure("01037")).department_code == "power"
    transfer = route(table, sure("99000"))
    assert transfer.department_code == "transfer_12345" and not transfer.auto_dispatch
    unknown = route(table, sure(None))
    assert unknown.department_code is None and not unknown.auto_dispatch and unknown.rule_id == "default"


def test_a_grade_given_stands_over_the_rules() -> None:
    table = shipped()
    assert route(table, sure("06010")).grade == "normal"
    assert route(table, sure("06010", grade="urgent")).grade == "urgent"
    assert route(table, sure("01002", grade="critical")).grade == "critical"


def test_bad_rules_are_reported_in_chinese() -> None:
    catch_all = {"key": "d", "name": "兜底", "then": {"hold": True}}
    with pytest.raises(RulesError, match="须“交坐席处理”"):
        parse_rule_set({"rules": [{"key": "x", "name": "x", "then": {}}, catch_all]})
    with pytest.raises(RulesError, match="规则编号 x 重复"):
        rule = {"key": "x", "name": "x", "then": {"department": "d"}}
        parse_rule_set({"rules": [rule, rule, catch_all]})
    with pytest.raises(RulesError, match="兜底规则"):
        parse_rule_set(
            {
                "rules": [
                    {
                        "key": "x",
                        "name": "x",
                        "then": {"department": "d"},
                        "when": {"field": "channel", "op": "in", "value": ["sms"]},
                    }
                ]
            }
        )


def test_an_old_rules_file_is_refused_naming_where_things_went() -> None:
    """A city's old rules file would otherwise lose its categories and limits without a word."""
    with pytest.raises(RulesError, match=r"`categories` 是旧格式：条件写在 when 里"):
        parse_rule_set({"rules": [{"id": "x", "categories": ["06010"], "department": "d"}]})
    with pytest.raises(RulesError, match=r"`handle_limit` 是旧格式.*SLA 策略"):
        parse_rule_set({"rules": [{"key": "x", "name": "x", "handle_limit": {"amount": 1, "unit": "hours"}}]})
    with pytest.raises(RulesError, match=r"`defaults` / `calendar` 是旧格式"):
        parse_rule_set({"calendar": {"weekdays": [1, 2, 3]}, "rules": []})


def test_the_shipped_file_round_trips_through_export() -> None:
    spec = shipped()
    assert parse_rule_set(yaml.safe_load(dump_rule_file(spec))) == spec
