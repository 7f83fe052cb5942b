"""cases: urgency (紧急 / 一般) and the revisit day an explained case was last brought back for

Revision ID: 0016
Revises: 0010
Create Date: 2026-12-08 10:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

revision: str = '0016'
down_revision: Union[str, Sequence[str], None] = '0010'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('urgency', sa.String(length=8), nullable=False, server_default='normal',
                                      comment="normal (一般) or urgent (紧急): the workflow's deadlines may differ"))
        batch_op.add_column(sa.Column('revisit_told_for', sa.Date(), nullable=True,
                                      comment='the revisit day the sweep last brought the case back to its holder for'))
        batch_op.create_check_constraint('urgency', "urgency IN ('normal', 'urgent')")


def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_constraint('urgency', type_='check')
        batch_op.drop_column('revisit_told_for')
        batch_op.drop_column('urgency')
