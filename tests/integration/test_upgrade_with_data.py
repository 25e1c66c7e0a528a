"""A database deployed at 0005 (the last revision before the tables moved out of the kernel), with a row in
every table it has, upgrades through hotline/migrations to the head and gives every row back unchanged — on SQLite
and on PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from alembic.runtime.migration import MigrationContext
from sqlalchemy import MetaData, Table, insert, inspect, select
from sqlmodel import SQLModel

import hotline.tables  # noqa: F401  (every package's tables on SQLModel.metadata)
from cases.db import dispose_engines, get_engine
from hotline.migrate import check, is_at_head, upgrade

pytestmark = [pytest.mark.integration]

DEPLOYED = "0005_trust"
PG_ADMIN = os.environ.get("HOTLINE_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")
T0 = datetime(2026, 11, 30, 1, 2, 3, 456789, tzinfo=UTC)
T1 = datetime(2026, 11, 30, 9, 30, 0, tzinfo=UTC)

# One realistic row per table, every column given, in the order foreign keys need.
ROWS: dict[str, list[dict[str, Any]]] = {
    "department": [{"code": "cgj", "name": "区城管局", "phone": "0713-8610000", "active": True}],
    "grid": [
        {
            "code": "421102001001001",
            "name": "东门社区第1网格",
            "street_code": "421102001",
            "street": "东门街道",
            "community_code": "421102001001",
            "community": "东门社区",
            "places": ["东门菜市场", "考棚街"],
            "geometry": {"type": "Polygon", "coordinates": [[[114.85, 30.40], [114.86, 30.40], [114.86, 30.41]]]},
            "worker_name": "李网格",
            "worker_phone": "13900139000",
        }
    ],
    "category": [
        {
            "kind": "事件",
            "code": "0201",
            "name": "暴露垃圾",
            "major_code": "02",
            "major_name": "市容环境",
            "parent_code": None,
            "active": True,
            "standard": "GB/T 30428.2-2013",
        }
    ],
    "case_counter": [{"day": "20261130", "last": 1}],
    "case": [
        {
            "id": 1,
            "number": "12319-20261130-000001",
            "title": "东门菜市场门口垃圾堆积",
            "category_code": "0201",
            "category_confidence": 0.93,
            "grid_code": "421102001001001",
            "grid_confidence": 0.8,
            "grid_source": "gazetteer",
            "grade": "normal",
            "department_code": "cgj",
            "status": "派遣",
            "needs_review": False,
            "dispatch_deadline": T1,
            "handle_deadline": datetime(2026, 12, 2, 9, 30, tzinfo=UTC),
            "created_at": T0,
            "updated_at": T1,
            "closed_at": None,
        }
    ],
    "report": [
        {
            "id": 1,
            "channel": "phone",
            "external_id": "CA0123456789abcdef0123456789abcdef",
            "received_at": T0,
            "raw": {"CallSid": "CA0123456789abcdef0123456789abcdef", "SpeechResult": "门口垃圾堆了好几天"},
            "text": "东门菜市场门口垃圾堆了好几天没人清理，臭得很",
            "phone": "+8613800138000",
            "lat": 30.403,
            "lon": 114.855,
            "address": "黄州区东门路12号",
            "attachments": ["att-1"],
            "hints": {"category": "0201"},
            "case_id": 1,
            "processing_status": "done",
            "attempts": 1,
            "last_error": None,
            "last_attempt_at": T0,
        }
    ],
    "case_event": [
        {
            "id": 1,
            "case_id": 1,
            "at": T0,
            "actor": "system",
            "action": "open",
            "from_status": None,
            "to_status": "上报",
            "reason": "来电上报",
            "data": {"report_id": 1},
        },
        {
            "id": 2,
            "case_id": 1,
            "at": T1,
            "actor": "agent:王芳",
            "action": "dispatch",
            "from_status": "立案",
            "to_status": "派遣",
            "reason": "派往区城管局",
            "data": {"department": "cgj"},
        },
    ],
    "camera": [
        {
            "id": "cam-dongmen-01",
            "name": "东门菜市场东口",
            "secret": "s3cr3t-" + "x" * 40,
            "lat": 30.4031,
            "lon": 114.8552,
            "address": "东门路菜市场东口",
            "grid_code": "421102001001001",
            "event_map": {"garbage_overflow": "0201"},
            "min_confidence": 0.6,
            "auto_dispatch": True,
            "active": True,
            "created_at": T0,
            "secret_rotated_at": T1,
            "last_alert_at": T1,
        }
    ],
    "camera_alert_signature": [{"signature": "a" * 64, "camera_id": "cam-dongmen-01", "seen_at": T1}],
    "camera_incident": [
        {
            "id": 1,
            "camera_id": "cam-dongmen-01",
            "event_type": "garbage_overflow",
            "report_id": 1,
            "count": 3,
            "first_seen": T0,
            "last_seen": T1,
            "max_confidence": 0.91,
        }
    ],
    "api_key": [
        {
            "id": 1,
            "name": "区数字城管平台",
            "key_hash": "b" * 64,
            "prefix": "hk_live_ab",
            "scopes": ["intake", "read"],
            "created_at": T0,
            "revoked_at": None,
            "last_used_at": T1,
        }
    ],
    "track_token": [{"token_hash": "c" * 64, "report_id": 1, "created_at": T0}],
    "attachment": [
        {
            "id": "att-1",
            "content_type": "image/jpeg",
            "size": 48213,
            "width": 1280,
            "height": 960,
            "sha256": "d" * 64,
            "storage_key": "attachments/2026/11/att-1.jpg",
            "thumb_key": "attachments/2026/11/att-1.thumb.jpg",
            "channel": "web",
            "created_at": T0,
        }
    ],
    "call_session": [
        {
            "id": 1,
            "call_sid": "CA0123456789abcdef0123456789abcdef",
            "direction": "inbound",
            "flow": "main",
            "from_phone": "+8613800138000",
            "to_phone": "+867138612319",
            "status": "completed",
            "context": {"said": "门口垃圾堆了好几天", "retries": 0},
            "turn": 4,
            "report_id": 1,
            "case_id": 1,
            "duration_seconds": 95,
            "error_code": None,
            "error_url": None,
            "started_at": T0,
            "updated_at": T1,
            "ended_at": T1,
        }
    ],
    "call_step": [
        {
            "id": 1,
            "call_sid": "CA0123456789abcdef0123456789abcdef",
            "request_key": "CA0123456789abcdef0123456789abcdef:/twilio/voice/gather:2",
            "flow": "main",
            "step": "describe",
            "digits": None,
            "speech": "门口垃圾堆了好几天",
            "confidence": 0.87,
            "response": "<Response><Say language='zh-CN'>您反映的是暴露垃圾，对吗？</Say></Response>",
            "error": None,
            "elapsed_ms": 12.5,
            "at": T0,
        }
    ],
    "sms_message": [
        {
            "id": 1,
            "message_sid": "SM0123456789abcdef0123456789abcdef",
            "phone": "+8613800138000",
            "body": "补充：垃圾旁边还有一个破沙发",
            "media": ["att-1"],
            "kind": "append",
            "report_id": 1,
            "reply": "【12319】已补充到您的诉求 12319-20261130-000001。",
            "received_at": T1,
        }
    ],
    "sms_opt_out": [{"phone": "+8613700137000", "at": T1}],
    "outbound_message": [
        {
            "id": 1,
            "dedupe_key": "case_number:1",
            "kind": "sms",
            "purpose": "case_number",
            "to_phone": "+8613800138000",
            "body": "【12319】您的诉求已受理，编号 12319-20261130-000001。",
            "url": None,
            "case_id": 1,
            "report_id": 1,
            "status": "sent",
            "twilio_sid": "SM9999999999abcdef0123456789abcdef",
            "attempts": 1,
            "last_error": None,
            "not_before": None,
            "created_at": T0,
            "sent_at": T1,
        }
    ],
    "labelled_example": [
        {
            "id": 1,
            "text": "东门菜市场门口垃圾堆了好几天没人清理",
            "label": "0201",
            "grid_code": "421102001001001",
            "who": "agent:王芳",
            "at": T1,
            "source": "confirm",
            "case_id": 1,
        }
    ],
    "model_version": [
        {
            "version": "20261130-0930",
            "path": "var/models/20261130-0930",
            "card": {"macro_f1": 0.81, "trained_on": 1234},
            "macro_f1": 0.81,
            "active": True,
            "created_at": T1,
        }
    ],
}


@pytest.fixture
def sqlite_url(tmp_path: Path) -> Iterator[str]:
    yield f"sqlite:///{tmp_path / 'deployed.db'}"
    dispose_engines()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A database of this test's own on the shared server, dropped afterwards."""
    name = f"hotline_upgrade_{uuid.uuid4().hex[:10]}"
    try:
        with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:  # CI starts PostgreSQL: a missing server is a failure, not a skip
        pytest.fail(f"this test needs PostgreSQL: {exc}")
    base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    yield f"{base}/{name}"
    dispose_engines()
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _table(name: str) -> Table:
    table = SQLModel.metadata.tables[name]
    assert isinstance(table, Table)
    return table


def _read_back(url: str) -> dict[str, list[dict[str, Any]]]:
    """The deployed columns of every row (columns born later hold their defaults, not the deployment's data)."""
    with get_engine(url).connect() as conn:
        out = {}
        for name, rows in ROWS.items():
            table = _table(name)
            columns = [table.c[k] for k in rows[0]]
            out[name] = [dict(r._mapping) for r in conn.execute(select(*columns).order_by(*table.primary_key))]
        return out


def _deployed_table(conn: Any, name: str) -> Table:
    """The table as the deployed revision has it (the models may have grown columns since)."""
    return Table(name, MetaData(), autoload_with=conn)


def test_the_rows_cover_every_table_of_the_deployed_revision(sqlite_url: str) -> None:
    """Every table a database at DEPLOYED has (tables born later are new, so empty, in a deployment)."""
    upgrade(sqlite_url, DEPLOYED)
    with get_engine(sqlite_url).connect() as conn:
        deployed = set(inspect(conn).get_table_names()) - {"alembic_version"}
        assert set(ROWS) == deployed
        for name, rows in ROWS.items():
            columns = set(_deployed_table(conn, name).columns.keys())
            assert all(set(row) == columns for row in rows), name


@pytest.mark.parametrize("db", ["sqlite_url", "postgres_url"])
def test_a_deployed_database_with_data_upgrades_with_nothing_lost(db: str, request: pytest.FixtureRequest) -> None:
    url: str = request.getfixturevalue(db)
    upgrade(url, DEPLOYED)
    with get_engine(url).begin() as conn:
        assert MigrationContext.configure(conn).get_current_heads() == (DEPLOYED,)
        for table in SQLModel.metadata.sorted_tables:
            if table.name in ROWS:  # the tables the deployed revision has, with the columns it had
                conn.execute(insert(_deployed_table(conn, table.name)), ROWS[table.name])

    upgrade(url)  # through hotline/migrations, as a deployment's next start does

    assert is_at_head(url)
    assert _read_back(url) == ROWS
    check(url)  # and the upgraded schema is exactly what the models say
