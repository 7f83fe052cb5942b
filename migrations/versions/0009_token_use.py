"""api_tokens: last use and an optional expiry

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 10:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

import casetrack.extensions

revision: str = '0009'
down_revision: Union[str, Sequence[str], None] = '0008'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_used_at', casetrack.db.types.UTCDateTime(), nullable=True,
                                      comment='noted at most once a minute'))
        batch_op.add_column(sa.Column('expires_at', casetrack.db.types.UTCDateTime(), nullable=True,
                                      comment='refused from then on; none: until revoked'))


def downgrade() -> None:
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_column('expires_at')
        batch_op.drop_column('last_used_at')
