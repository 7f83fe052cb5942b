"""daily_feedback: a campaign's daily feedback (日反馈), a unit's word on each open problem for a
day: done, in progress (with the day it expects to finish) or needs coordination (with why)

Revision ID: 0025_feedback
Revises: 0021_campaigns
Create Date: 2026-12-06 22:40:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

import casetrack.db.types

revision: str = '0025_feedback'
down_revision: Union[str, Sequence[str], None] = '0021_campaigns'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('daily_feedback',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign', sa.String(length=40), nullable=False),
    sa.Column('day', sa.Date(), nullable=False, comment='the day reported on, Asia/Shanghai'),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False, comment='the unit that reported (holding the case)'),
    sa.Column('status', sa.String(length=20), nullable=False, comment='done, in_progress or needs_coordination'),
    sa.Column('expected_on', sa.Date(), nullable=True, comment='in progress: the day it expects to finish'),
    sa.Column('reason', sa.String(length=500), nullable=True, comment='needs coordination: why'),
    sa.Column('reported_by_id', sa.Integer(), nullable=False),
    sa.Column('reported_at', casetrack.db.types.UTCDateTime(), nullable=False),
    sa.CheckConstraint("status <> 'in_progress' OR expected_on IS NOT NULL", name=op.f('ck_daily_feedback_expected_on')),
    sa.CheckConstraint("status <> 'needs_coordination' OR reason IS NOT NULL", name=op.f('ck_daily_feedback_reason')),
    sa.CheckConstraint("status IN ('done', 'in_progress', 'needs_coordination')", name=op.f('ck_daily_feedback_status')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_daily_feedback_case_id_cases')),
    sa.ForeignKeyConstraint(['reported_by_id'], ['users.id'], name=op.f('fk_daily_feedback_reported_by_id_users')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_daily_feedback_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_daily_feedback')),
    sa.UniqueConstraint('case_id', 'day', name='uq_daily_feedback_case_id_day')
    )
    op.create_index('ix_daily_feedback_campaign_day', 'daily_feedback', ['campaign', 'day', 'unit_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_daily_feedback_campaign_day', table_name='daily_feedback')
    op.drop_table('daily_feedback')
