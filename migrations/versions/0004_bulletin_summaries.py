"""bulletin summaries: the daily figures per work group (issue 5, speed)

A database upgraded with data in it must then run `flask --app casetrack rebuild-summaries`
once (the figures are recomputed from the cases, events, visits and targets).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 13:20:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0004'
down_revision: Union[str, Sequence[str], None] = '0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('daily_figures',
    sa.Column('figure', sa.String(length=20), nullable=False, comment='found, solved, closed, visits, first_visit, ...'),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False, comment='the filing (or visiting, or responsible) work group'),
    sa.Column('detail', sa.String(length=40), nullable=False, comment='category, level, target kind, leader role, ...'),
    sa.Column('n', sa.BigInteger(), nullable=False),
    sa.Column('funds', sa.BigInteger(), nullable=False, comment='public funds, 0.01 万元'),
    sa.Column('donations', sa.BigInteger(), nullable=False, comment='social donations, 0.01 万元'),
    sa.ForeignKeyConstraint(['group_id'], ['units.id'], name=op.f('fk_daily_figures_group_id_units')),
    sa.PrimaryKeyConstraint('figure', 'day', 'group_id', 'detail', name=op.f('pk_daily_figures')),
    sqlite_with_rowid=False,
    )
    with op.batch_alter_table('visits', schema=None) as batch_op:
        batch_op.create_index('ix_visits_day_group_target', ['visited_on', 'group_id', 'target_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('visits', schema=None) as batch_op:
        batch_op.drop_index('ix_visits_day_group_target')
    op.drop_table('daily_figures')
