"""the 督办 list's partial index

Revision ID: 0015_case_flagged
Revises: 0014_hotspots
Create Date: 2026-12-04 19:10:00

Open cases with a 督办 card or past a deadline, by last change: the supervisors' list and its counts read
this instead of every open case.
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0015_case_flagged'
down_revision: Union[str, None] = '0014_hotspots'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

OPEN_CASE_SQL = "status NOT IN ('closed', 'merged', 'rejected')"
FLAGGED_CASE_PG = OPEN_CASE_SQL + " AND (supervision IS NOT NULL OR overdue IS true)"
FLAGGED_CASE_SQLITE = OPEN_CASE_SQL + " AND (supervision IS NOT NULL OR overdue IS 1)"


def upgrade() -> None:
    op.create_index(
        'ix_case_flagged', 'case', ['updated_at'],
        postgresql_where=sa.text(FLAGGED_CASE_PG), sqlite_where=sa.text(FLAGGED_CASE_SQLITE),
    )


def downgrade() -> None:
    op.drop_index('ix_case_flagged', table_name='case')
