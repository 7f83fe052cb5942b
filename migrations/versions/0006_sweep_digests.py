"""notifications: the sweep's digests (one notice per unit and kind per run, with its count)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 16:15:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0006'
down_revision: Union[str, Sequence[str], None] = '0005'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column(
            'count', sa.Integer(), nullable=True,
            comment="a sweep's digest: how many cases it flagged (overdue or pre-warned) in one run"))
        batch_op.add_column(sa.Column(
            'about_unit_id', sa.Integer(), nullable=True,
            comment='a digest to a superior: the unit below whose cases it counts'))
        batch_op.create_foreign_key(batch_op.f('fk_notifications_about_unit_id_units'),
                                    'units', ['about_unit_id'], ['id'])
        batch_op.alter_column('message', existing_type=sa.Text(), existing_nullable=False,
                              comment='English; the inbox translates by kind; empty for a digest')


def downgrade() -> None:
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.alter_column('message', existing_type=sa.Text(), existing_nullable=False,
                              comment='English; the inbox translates by kind')
        batch_op.drop_constraint(batch_op.f('fk_notifications_about_unit_id_units'), type_='foreignkey')
        batch_op.drop_column('about_unit_id')
        batch_op.drop_column('count')
