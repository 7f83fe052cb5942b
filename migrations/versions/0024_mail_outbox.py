"""mail_outbox: notices' mails written with the notice, sent later by deliver-mail (issue 27)

Revision ID: 0024
Revises: 0022
Create Date: 2026-12-06 19:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

import casetrack.db.types

revision: str = '0024'
down_revision: Union[str, Sequence[str], None] = '0022'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('mail_outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('recipients', sa.JSON(), nullable=False, comment='the addresses, as they were when the notice was written'),
    sa.Column('subject', sa.String(length=300), nullable=False, comment='one line'),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', casetrack.db.types.UTCDateTime(), nullable=False),
    sa.Column('last_error', sa.String(length=500), nullable=False),
    sa.Column('created_at', casetrack.db.types.UTCDateTime(), nullable=False),
    sa.Column('sent_at', casetrack.db.types.UTCDateTime(), nullable=True),
    sa.CheckConstraint("state IN ('pending', 'sent', 'failed')", name=op.f('ck_mail_outbox_state')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mail_outbox'))
    )
    with op.batch_alter_table('mail_outbox', schema=None) as batch_op:
        batch_op.create_index('ix_mail_outbox_due', ['state', 'next_attempt_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('mail_outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_mail_outbox_due')
    op.drop_table('mail_outbox')
