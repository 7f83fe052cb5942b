"""cases.parent_id: a partial index (only the linked cases)

Most cases have no parent; with the full index SQLite's statistics hold one NULL key with
almost every row, and after ANALYZE the planner scanned the whole table to find a shared
problem's members (each flush's summaries and the bulletin ask that).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 14:55:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0005'
down_revision: Union[str, Sequence[str], None] = '0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

LINKED = sa.text("parent_id IS NOT NULL")


def upgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_parent_id')
        batch_op.create_index('ix_cases_parent_id', ['parent_id'], unique=False,
                              sqlite_where=LINKED, postgresql_where=LINKED)


def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_parent_id')
        batch_op.create_index('ix_cases_parent_id', ['parent_id'], unique=False)
