"""attachments (photos and documents on cases), their bytes in the database when configured,
and idempotent requests (Idempotency-Key)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-20 10:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

import casetrack.db.types

revision: str = '0011'
down_revision: Union[str, Sequence[str], None] = '0010'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        'attachments',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('event_id', sa.Integer(), nullable=True,
                  comment="the transition these photos went with; none: the case's own"),
        sa.Column('stage', sa.String(length=12), nullable=False,
                  comment='before (整改前), after (整改后) or document'),
        sa.Column('caption', sa.String(length=200), nullable=False),
        sa.Column('filename', sa.String(length=200), nullable=False, comment='as uploaded, for documents'),
        sa.Column('content_type', sa.String(length=100), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False, comment='bytes as stored'),
        sa.Column('sha256', sa.String(length=64), nullable=False,
                  comment='of the stored bytes: their name in the folder'),
        sa.Column('thumb_sha256', sa.String(length=64), nullable=True,
                  comment='of the thumbnail; none for documents'),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', casetrack.db.types.UTCDateTime(), nullable=False),
        sa.CheckConstraint("stage IN ('before', 'after', 'document')", name=op.f('ck_attachments_stage')),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_attachments_case_id_cases')),
        sa.ForeignKeyConstraint(['event_id'], ['case_events.id'], name=op.f('fk_attachments_event_id_case_events')),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_attachments_created_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_attachments')),
    )
    op.create_index('ix_attachments_case_id_id', 'attachments', ['case_id', 'id'], unique=False)
    op.create_table(
        'attachment_blobs',
        sa.Column('attachment_id', sa.Integer(), nullable=False),
        sa.Column('thumbnail', sa.Boolean(), nullable=False),
        sa.Column('data', sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(['attachment_id'], ['attachments.id'],
                                name=op.f('fk_attachment_blobs_attachment_id_attachments')),
        sa.PrimaryKeyConstraint('attachment_id', 'thumbnail', name=op.f('pk_attachment_blobs')),
    )
    op.create_table(
        'idempotent_requests',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=200), nullable=False),
        sa.Column('endpoint', sa.String(length=60), nullable=False, comment='the operation the key was used for'),
        sa.Column('body_hash', sa.String(length=64), nullable=False, comment='sha256 of the canonical JSON body'),
        sa.Column('status', sa.Integer(), nullable=False, comment="the first answer's HTTP status"),
        sa.Column('response', sa.Text(), nullable=False, comment="the first answer's JSON"),
        sa.Column('location', sa.String(length=200), nullable=False),
        sa.Column('created_at', casetrack.db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_idempotent_requests_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_idempotent_requests')),
        sa.UniqueConstraint('user_id', 'key', name='uq_idempotent_requests_user_key'),
    )
    op.create_index(op.f('ix_idempotent_requests_created_at'), 'idempotent_requests', ['created_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_idempotent_requests_created_at'), table_name='idempotent_requests')
    op.drop_table('idempotent_requests')
    op.drop_table('attachment_blobs')
    op.drop_index('ix_attachments_case_id_id', table_name='attachments')
    op.drop_table('attachments')
