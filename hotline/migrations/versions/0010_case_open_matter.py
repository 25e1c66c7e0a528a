"""open cases of one matter in one grid

Revision ID: 0010_case_open_matter
Revises: 0009_queue_indexes
Create Date: 2026-12-02 14:00:00

A partial index on open cases (category, grid, created_at): the case page's possible duplicates read a
few rows per grid, however many cases the city has.
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0010_case_open_matter'
down_revision: Union[str, None] = '0009_queue_indexes'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

OPEN = "status NOT IN ('closed', 'merged', 'rejected')"


def upgrade() -> None:
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.create_index(
            'ix_case_open_matter',
            ['category_code', 'grid_code', 'created_at'],
            unique=False,
            postgresql_where=sa.text(OPEN),
            sqlite_where=sa.text(OPEN),
        )


def downgrade() -> None:
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.drop_index('ix_case_open_matter')
