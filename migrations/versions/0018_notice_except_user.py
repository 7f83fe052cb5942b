"""notifications: except_user_id, the unit's user whose own action the notice reports

A group's filing tells the group's other users, not the cadre who filed it.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 16:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

revision: str = '0018'
down_revision: Union[str, Sequence[str], None] = '0017'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('except_user_id', sa.Integer(), nullable=True,
                                      comment="a unit's notice: not shown to this user (it reports their own action)"))
        batch_op.create_foreign_key('fk_notifications_except_user_id_users', 'users', ['except_user_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_constraint('fk_notifications_except_user_id_users', type_='foreignkey')
        batch_op.drop_column('except_user_id')
