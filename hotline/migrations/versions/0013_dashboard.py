"""the supervisors' dashboard

Revision ID: 0013_dashboard
Revises: 0012_rule_sets
Create Date: 2026-12-10 10:00:00

Per-day aggregate tables of the dashboard (intake by dimension, the counters behind the 三率) and the
refresh's bookkeeping row, and the indexes the day's facts are read by: cases by creation time, events by
action and time, clocks by stop time and by kind and start time. The aggregates start empty: the first
refresh (the worker's periodic job, or `hotline dashboard refresh`) fills them from the history.
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel
import cases.models


revision: str = '0013_dashboard'
down_revision: Union[str, None] = '0012_rule_sets'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

_COUNTERS = ('dispatched', 'sign_met', 'sign_late', 'handle_met', 'handle_late', 'returned', 'reopened',
             'extended', 'rated', 'satisfied', 'yellow', 'red')


def upgrade() -> None:
    op.create_table('dash_intake_day',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('dimension', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('cases', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('day', 'dimension', 'key')
    )
    op.create_table('dash_rate_day',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('dimension', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    *[sa.Column(name, sa.Integer(), nullable=False) for name in _COUNTERS],
    sa.PrimaryKeyConstraint('day', 'dimension', 'key')
    )
    op.create_table('dash_refresh',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('last_event_id', sa.Integer(), nullable=False),
    sa.Column('refreshed_at', cases.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('days_refreshed', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    # The one bookkeeping row the refresh locks (it exists before any worker races to create it).
    op.execute("INSERT INTO dash_refresh (id, last_event_id, days_refreshed) VALUES (1, 0, 0)")
    # Plain CREATE INDEX (no batch): a SQLite batch would copy and drop "case", which reports point at.
    op.create_index('ix_case_created_at', 'case', ['created_at'], unique=False)
    op.create_index('ix_case_event_action_at', 'case_event', ['action', 'at'], unique=False)
    op.create_index('ix_sla_clock_stopped_at', 'sla_clock', ['stopped_at'], unique=False)
    op.create_index('ix_sla_clock_kind_started', 'sla_clock', ['kind', 'started_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_sla_clock_kind_started', table_name='sla_clock')
    op.drop_index('ix_sla_clock_stopped_at', table_name='sla_clock')
    op.drop_index('ix_case_event_action_at', table_name='case_event')
    op.drop_index('ix_case_created_at', table_name='case')
    op.drop_table('dash_refresh')
    op.drop_table('dash_rate_day')
    op.drop_table('dash_intake_day')
