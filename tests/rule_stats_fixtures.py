"""Decision records and shadow hits at chosen instants around the city's midnight, for the rule counts'
tests on SQLite and on PostgreSQL (the same scenario, the same expected counts)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import Session

from cases.service import open_case
from routing.models import DecisionRecord, ShadowHit
from routing.rule_stats import rule_stats

# 10:00 in Asia/Shanghai on 4 December; the city's day starts at 16:00 UTC the day before.
NOW = datetime(2026, 12, 4, 2, 0, tzinfo=UTC)
HITS = [
    ("garbage-exposed", datetime(2026, 12, 3, 16, 30, tzinfo=UTC)),  # 00:30 today, local
    ("garbage-exposed", datetime(2026, 12, 4, 1, 59, tzinfo=UTC)),  # 09:59 today
    ("garbage-exposed", datetime(2026, 12, 3, 15, 59, tzinfo=UTC)),  # 23:59 yesterday
    ("garbage-exposed", datetime(2026, 11, 28, 16, 0, tzinfo=UTC)),  # 00:00 on 29 Nov: the first of 6 days
    ("garbage-exposed", datetime(2026, 11, 28, 15, 59, tzinfo=UTC)),  # 23:59 on 28 Nov: before the window
    ("garbage-exposed", datetime(2026, 12, 4, 16, 0, tzinfo=UTC)),  # tomorrow (clock skew): not counted
    ("sanitation", datetime(2026, 12, 2, 3, 0, tzinfo=UTC)),
    ("street-order", datetime(2026, 12, 2, 3, 0, tzinfo=UTC)),  # not asked for
]
SHADOWS = [
    ("try-enforcement", datetime(2026, 12, 1, 3, 0, tzinfo=UTC)),
    ("try-enforcement", datetime(2026, 12, 4, 1, 0, tzinfo=UTC)),
    ("try-enforcement", datetime(2026, 11, 1, 1, 0, tzinfo=UTC)),  # long ago
]
KEYS = ["garbage-exposed", "sanitation", "try-enforcement", "never"]


def make_scenario(s: Session) -> None:
    case = open_case(s, actor="system:pipeline", title="统计", category_code="06010")
    for key, at in HITS:
        record = DecisionRecord(case_id=case.id or 0, at=at, rule_key=key, rule_name=key, rule_position=1)
        s.add(record)
        s.flush()
    for key, at in SHADOWS:
        s.add(ShadowHit(decision_id=record.id or 0, case_id=case.id or 0, rule_key=key, at=at))
    s.flush()


def check_scenario(s: Session) -> None:
    stats = rule_stats(s, KEYS, 6, NOW)
    assert set(stats) == set(KEYS)
    g = stats["garbage-exposed"]
    assert g.hits_by_day == [1, 0, 0, 0, 1, 2] and g.total == 4 and g.shadow == 0
    assert stats["sanitation"].hits_by_day == [0, 0, 0, 1, 0, 0]  # 11:00 on 2 Dec
    assert stats["try-enforcement"].shadow == 2 and stats["try-enforcement"].total == 0
    assert stats["never"].hits_by_day == [0] * 6 and stats["never"].total == 0
    assert rule_stats(s, ["garbage-exposed"], 1, NOW)["garbage-exposed"].hits_by_day == [2]
