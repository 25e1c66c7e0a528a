"""callbacks

Revision ID: 0008_callbacks
Revises: 0007_agent_calls
Create Date: 2026-12-02 13:50:00.000000

回访 attempts on verified cases (who tried, how, how it went, when to try again).
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel
import cases.models


revision: str = '0008_callbacks'
down_revision: Union[str, None] = '0007_agent_calls'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('callback_attempt',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('at', cases.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('how', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('outcome', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('next_try_at', cases.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('agent_call_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('agent_call_id')
    )
    with op.batch_alter_table('callback_attempt', schema=None) as batch_op:
        batch_op.create_index('ix_callback_attempt_case_at', ['case_id', 'at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('callback_attempt', schema=None) as batch_op:
        batch_op.drop_index('ix_callback_attempt_case_at')

    op.drop_table('callback_attempt')
