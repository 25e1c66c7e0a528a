"""closed cases by closing time

Revision ID: 0017_case_closed_at
Revises: 0016_rule_set_one_draft
Create Date: 2026-12-04 20:00:00

Retention clears the raw payloads and photos of cases closed before a cut-off: a partial index of closed
cases by `closed_at`.
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0017_case_closed_at'
down_revision: Union[str, None] = '0016_rule_set_one_draft'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

CLOSED_CASE_SQL = "status = 'closed'"


def upgrade() -> None:
    op.create_index(
        'ix_case_closed_at', 'case', ['closed_at'],
        postgresql_where=sa.text(CLOSED_CASE_SQL), sqlite_where=sa.text(CLOSED_CASE_SQL),
    )


def downgrade() -> None:
    op.drop_index('ix_case_closed_at', table_name='case')
