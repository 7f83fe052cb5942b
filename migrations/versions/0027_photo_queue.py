"""photo queue: attachments.processed_at (none while a photo waits, as uploaded, to be verified
and re-encoded off the request path), sha256 none until then; every attachment so far is processed

Revision ID: 0027_photo_queue
Revises: 0026_circulars
Create Date: 2026-12-07 02:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

import casetrack.db.types

revision: str = '0027_photo_queue'
down_revision: Union[str, Sequence[str], None] = '0026_circulars'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('processed_at', casetrack.db.types.UTCDateTime(), nullable=True,
                                      comment='when the photo was verified and stored; none: pending '
                                              '(a photo as uploaded)'))
        batch_op.alter_column('sha256', existing_type=sa.String(length=64), nullable=True,
                              comment='of the stored bytes: their name in the folder; none while pending',
                              existing_comment='of the stored bytes: their name in the folder')
        batch_op.alter_column('size', existing_type=sa.Integer(), existing_nullable=False,
                              comment='bytes as stored (a pending photo: as received)',
                              existing_comment='bytes as stored')
    op.execute("UPDATE attachments SET processed_at = created_at")
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.create_check_constraint(op.f('ck_attachments_processed_hash'), 'processed_at IS NULL OR sha256 IS NOT NULL')


def downgrade() -> None:
    # A photo still pending has no stored bytes to keep: it goes (its raw upload with it).
    op.execute("DELETE FROM attachment_blobs WHERE attachment_id IN "
               "(SELECT id FROM attachments WHERE processed_at IS NULL)")
    op.execute("DELETE FROM attachments WHERE processed_at IS NULL")
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_attachments_processed_hash'), type_='check')
        batch_op.alter_column('size', existing_type=sa.Integer(), existing_nullable=False,
                              comment='bytes as stored', existing_comment='bytes as stored (a pending photo: as received)')
        batch_op.alter_column('sha256', existing_type=sa.String(length=64), nullable=False,
                              comment='of the stored bytes: their name in the folder',
                              existing_comment='of the stored bytes: their name in the folder; none while pending')
        batch_op.drop_column('processed_at')
