"""one shared draft of the routing rules

Revision ID: 0016_rule_set_one_draft
Revises: 0015_case_flagged
Create Date: 2026-12-04 19:25:00

A partial unique index: at most one rule set in state 'draft' (the editor's shared draft).
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0016_rule_set_one_draft'
down_revision: Union[str, None] = '0015_case_flagged'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

RULE_SET_DRAFT_SQL = "state = 'draft'"


def upgrade() -> None:
    op.create_index(
        'uq_rule_set_one_draft', 'rule_set', ['state'], unique=True,
        postgresql_where=sa.text(RULE_SET_DRAFT_SQL), sqlite_where=sa.text(RULE_SET_DRAFT_SQL),
    )


def downgrade() -> None:
    op.drop_index('uq_rule_set_one_draft', table_name='rule_set')
