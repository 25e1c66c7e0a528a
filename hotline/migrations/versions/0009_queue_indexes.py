"""queue indexes

Revision ID: 0009_queue_indexes
Revises: 0008_callbacks
Create Date: 2026-12-02 14:00:00

Indexes of the agents' queue (routing.work_queue, intake.telephony.followups): held cases and reports
without a case as partial indexes on their arrival time, SMS follow-ups by kind and arrival, and a
report's texts.
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

# As in cases/models.py today (a migration keeps the predicates it created, whatever the models say later).
REPORT_WITHOUT_CASE = "case_id IS NULL AND processing_status IN ('pending', 'processing', 'failed')"
CASE_HELD_PG = "needs_review IS true AND status = 'registered'"
CASE_HELD_SQLITE = "needs_review IS 1 AND status = 'registered'"

revision: str = '0009_queue_indexes'
down_revision: Union[str, None] = '0008_callbacks'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.create_index(
            'ix_case_held_created', ['created_at'], unique=False,
            postgresql_where=sa.text(CASE_HELD_PG), sqlite_where=sa.text(CASE_HELD_SQLITE),
        )
    with op.batch_alter_table('report', schema=None) as batch_op:
        batch_op.create_index(
            'ix_report_without_case', ['received_at'], unique=False,
            postgresql_where=sa.text(REPORT_WITHOUT_CASE), sqlite_where=sa.text(REPORT_WITHOUT_CASE),
        )
    with op.batch_alter_table('sms_message', schema=None) as batch_op:
        batch_op.create_index('ix_sms_message_kind_received', ['kind', 'received_at'], unique=False)
        batch_op.create_index('ix_sms_message_report_id', ['report_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('sms_message', schema=None) as batch_op:
        batch_op.drop_index('ix_sms_message_report_id')
        batch_op.drop_index('ix_sms_message_kind_received')
    with op.batch_alter_table('report', schema=None) as batch_op:
        batch_op.drop_index('ix_report_without_case')
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.drop_index('ix_case_held_created')
