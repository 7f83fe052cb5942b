"""cases.resident_id_tail: the last 4 to 6 characters of the resident's ID card, to find a person

Revision ID: 0022
Revises: 0020
Create Date: 2026-12-06 19:40:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

revision: str = '0022'
down_revision: Union[str, Sequence[str], None] = '0020'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    # A plain ADD COLUMN (a constant default): no copy of the cases table, its triggers kept.
    op.add_column('cases', sa.Column('resident_id_tail', sa.String(length=6), server_default='', nullable=False,
                                     comment="personal data: the last 4 to 6 characters of the resident's "
                                             "ID card (身份证号后几位), never the whole number"))


def downgrade() -> None:
    op.drop_column('cases', 'resident_id_tail')
