"""reference_versions: one row the database changes with categories, days off and webhooks

Each process keeps the active categories, the declared days off and the active webhooks that
every filing reads, and reads this one value (with the token's owner) to know when its copy is
stale. Triggers change it, so every writer counts.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 17:05:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

from casetrack.models.reference import REFERENCE_DDL, REFERENCE_TABLES

revision: str = '0007'
down_revision: Union[str, Sequence[str], None] = '0006'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('reference_versions',
                    sa.Column('id', sa.Integer(), nullable=False),
                    sa.Column('version', sa.BigInteger(), nullable=False,
                              comment='changed by triggers on ' + ', '.join(REFERENCE_TABLES)),
                    sa.PrimaryKeyConstraint('id', name=op.f('pk_reference_versions')))
    for sql in REFERENCE_DDL.get(op.get_bind().dialect.name, []):
        op.execute(sql)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table in REFERENCE_TABLES:
        if dialect == "sqlite":
            for verb in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_{verb}_version")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_version ON {table}")
    if dialect == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS reference_version_bump()")
    op.drop_table('reference_versions')
