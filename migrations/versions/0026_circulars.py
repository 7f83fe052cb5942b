"""circulars: bulletins.campaign, so each campaign numbers its own series (the rectification's
weekly 督查通报 beside the grand visit's bulletins); every bulletin so far is the grand visit's

Revision ID: 0026_circulars
Revises: 0025_feedback
Create Date: 2026-12-06 22:30:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

revision: str = '0026_circulars'
down_revision: Union[str, Sequence[str], None] = '0025_feedback'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('bulletins', schema=None) as batch_op:
        batch_op.add_column(sa.Column('campaign', sa.String(length=40), server_default='visit', nullable=False,
                                      comment='the campaign (活动) it reports on: workflows/campaigns.yaml'))
        batch_op.drop_constraint('uq_bulletins_unit_type_year_number', type_='unique')
        batch_op.create_unique_constraint('uq_bulletins_unit_campaign_type_year_number',
                                          ['unit_id', 'campaign', 'type', 'year', 'number'])


def downgrade() -> None:
    op.execute("DELETE FROM bulletins WHERE campaign <> 'visit'")
    with op.batch_alter_table('bulletins', schema=None) as batch_op:
        batch_op.drop_constraint('uq_bulletins_unit_campaign_type_year_number', type_='unique')
        batch_op.create_unique_constraint('uq_bulletins_unit_type_year_number', ['unit_id', 'type', 'year', 'number'])
        batch_op.drop_column('campaign')
