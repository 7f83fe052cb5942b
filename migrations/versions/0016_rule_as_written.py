"""cases: urgency (紧急 / 一般) and the revisit day an explained case was last brought back for

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-08 10:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

revision: str = '0016'
down_revision: Union[str, Sequence[str], None] = '0015'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


URGENCY_COMMENT = "normal (一般) or urgent (紧急): the workflow's deadlines may differ"
TOLD_COMMENT = 'the revisit day the sweep last brought the case back to its holder for'


def upgrade() -> None:
    # Not batch mode: on SQLite that rebuilds `cases`, whose DROP the events' foreign keys refuse.
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE cases ADD COLUMN urgency VARCHAR(8) DEFAULT 'normal' NOT NULL "
                   "CONSTRAINT ck_cases_urgency CHECK (urgency IN ('normal', 'urgent'))")
    else:
        op.add_column('cases', sa.Column('urgency', sa.String(length=8), nullable=False,
                                         server_default='normal', comment=URGENCY_COMMENT))
        op.create_check_constraint('urgency', 'cases', "urgency IN ('normal', 'urgent')")
    op.add_column('cases', sa.Column('revisit_told_for', sa.Date(), nullable=True, comment=TOLD_COMMENT))


def downgrade() -> None:
    op.drop_column('cases', 'revisit_told_for')
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint('urgency', 'cases', type_='check')
    op.drop_column('cases', 'urgency')
