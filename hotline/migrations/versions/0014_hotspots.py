"""hotspots and the agents' queue times

Revision ID: 0014_hotspots
Revises: 0013_dashboard
Create Date: 2026-12-10 10:00:00

Hotspot episodes (one open episode per grid and category: the SMS to supervisors goes once per episode);
on the call session, when the caller entered the agents' queue, when an agent took them and how they left
it (existing calls have none: they were never counted); indexes for calls by hour and cases by day.

The lead rechains this onto 0013_dashboard at merge.
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel
import cases.models


revision: str = '0014_hotspots'
down_revision: Union[str, None] = '0013_dashboard'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        'hotspot_episode',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('grid_code', sqlmodel.sql.sqltypes.AutoString(length=15), nullable=False),
        sa.Column('category_code', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('started_at', cases.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column('last_seen_at', cases.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column('ended_at', cases.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column('count', sa.Integer(), nullable=False),
        sa.Column('expected', sa.Float(), nullable=False),
        sa.Column('p_value', sa.Float(), nullable=False),
        sa.Column('notified_at', cases.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column('sms_sent', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_hotspot_episode_ended_at', 'hotspot_episode', ['ended_at'], unique=False)
    op.create_index(
        'uq_hotspot_episode_open',
        'hotspot_episode',
        ['grid_code', 'category_code'],
        unique=True,
        postgresql_where=sa.text('ended_at IS NULL'),
        sqlite_where=sa.text('ended_at IS NULL'),
    )
    # Plain ADD COLUMN (no batch copy of a table other rows point at).
    op.add_column('call_session', sa.Column('queued_at', cases.models.UTCDateTime(timezone=True), nullable=True))
    op.add_column('call_session', sa.Column('answered_at', cases.models.UTCDateTime(timezone=True), nullable=True))
    op.add_column('call_session', sa.Column('queue_result', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=True))
    op.add_column('call_session', sa.Column('queue_seconds', sa.Integer(), nullable=True))
    op.create_index('ix_call_session_started_at', 'call_session', ['started_at'], unique=False)
    op.create_index('ix_call_session_queued_at', 'call_session', ['queued_at'], unique=False)
    op.create_index('ix_case_created_grid_category', 'case', ['created_at', 'grid_code', 'category_code'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_case_created_grid_category', table_name='case')
    op.drop_index('ix_call_session_queued_at', table_name='call_session')
    op.drop_index('ix_call_session_started_at', table_name='call_session')
    with op.batch_alter_table('call_session', schema=None) as batch_op:
        batch_op.drop_column('queue_seconds')
        batch_op.drop_column('queue_result')
        batch_op.drop_column('answered_at')
        batch_op.drop_column('queued_at')
    op.drop_index('uq_hotspot_episode_open', table_name='hotspot_episode')
    op.drop_index('ix_hotspot_episode_ended_at', table_name='hotspot_episode')
    op.drop_table('hotspot_episode')
