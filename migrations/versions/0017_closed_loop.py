"""case_assists (协办 departments), three notice kinds, and the resolved/solved split of the daily figures

A referral names any number of assisting departments (case_assists), who see the case. Notices
gain `answer` (the filing group hears the answer to tell the household), `report_late` (a
progress report is owed) and `revisit` (an explained case is back on its date). The daily
figure that counted first resolutions was named `solved`; it is `resolved` (办结) now, and
`solved` counts verifications (核实解决): run `flask --app casetrack rebuild-summaries` after
upgrading so that cases verified before it count.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-08 10:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

revision: str = '0017'
down_revision: Union[str, Sequence[str], None] = '0016'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

OLD_KINDS = ('new_case', 'escalation', 'referral', 'pre_warning', 'overdue', 'supervision', 'callback',
             'extension', 'shared_problem')
NEW_KINDS = OLD_KINDS + ('answer', 'report_late', 'revisit')


def _kinds(kinds: tuple) -> None:
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_notifications_kind'), type_='check')
        batch_op.create_check_constraint('kind', f"kind IN {kinds}")


def upgrade() -> None:
    op.create_table('case_assists',
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False, comment='an assisting department'),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_assists_case_id_cases')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_case_assists_unit_id_units')),
    sa.PrimaryKeyConstraint('case_id', 'unit_id', name=op.f('pk_case_assists'))
    )
    with op.batch_alter_table('case_assists', schema=None) as batch_op:
        batch_op.create_index('ix_case_assists_unit_case', ['unit_id', 'case_id'], unique=False)
    _kinds(NEW_KINDS)
    op.execute("UPDATE daily_figures SET figure = 'resolved' WHERE figure = 'solved'")


def downgrade() -> None:
    op.execute("DELETE FROM daily_figures WHERE figure IN ('solved', 'told', 'answered')")
    op.execute("UPDATE daily_figures SET figure = 'solved' WHERE figure = 'resolved'")
    op.execute("DELETE FROM notifications WHERE kind IN ('answer', 'report_late', 'revisit')")
    _kinds(OLD_KINDS)
    with op.batch_alter_table('case_assists', schema=None) as batch_op:
        batch_op.drop_index('ix_case_assists_unit_case')
    op.drop_table('case_assists')
