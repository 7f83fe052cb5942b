"""targets looked up by village: the sites of a unit's paired communities (包抓共建), which a
department's case list reads on every page (SQLite built an index of every target for it)

Revision ID: 0030_targets_village
Revises: 0029_figures_by_group
Create Date: 2026-12-07 09:10:00

"""
from typing import Sequence, Union

from alembic import op

revision: str = '0030_targets_village'
down_revision: Union[str, Sequence[str], None] = '0029_figures_by_group'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_index('ix_targets_village', 'targets', ['village'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_targets_village', table_name='targets')
