"""daily figures keyed by (figure, group_id, day, detail), not (figure, day, group_id, detail):
a unit's report reads its own groups' rows over the days, not every group's of those days (a
county's bulletin at 1M cases read four counties' rows, a team's the whole county's)

Revision ID: 0029_figures_by_group
Revises: 0028_first_reach
Create Date: 2026-12-07 08:30:00

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0029_figures_by_group'
down_revision: Union[str, Sequence[str], None] = '0028_first_reach'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def _key(*columns: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE daily_figures DROP CONSTRAINT pk_daily_figures, "
                   f"ADD CONSTRAINT pk_daily_figures PRIMARY KEY ({', '.join(columns)})")
        return
    # SQLite: the table is its key (WITHOUT ROWID), so it is built again with the new one
    op.create_table('_daily_figures',
    sa.Column('figure', sa.String(length=20), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('detail', sa.String(length=40), nullable=False),
    sa.Column('n', sa.BigInteger(), nullable=False),
    sa.Column('funds', sa.BigInteger(), nullable=False),
    sa.Column('donations', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['units.id'], name='fk_daily_figures_group_id_units'),
    sa.PrimaryKeyConstraint(*columns, name='pk_daily_figures'),
    sqlite_with_rowid=False,
    )
    op.execute("INSERT INTO _daily_figures (figure, day, group_id, detail, n, funds, donations) "
               "SELECT figure, day, group_id, detail, n, funds, donations FROM daily_figures")
    op.drop_table('daily_figures')
    op.rename_table('_daily_figures', 'daily_figures')


def upgrade() -> None:
    _key('figure', 'group_id', 'day', 'detail')


def downgrade() -> None:
    _key('figure', 'day', 'group_id', 'detail')
