"""petitions received (接访), cases taken down (带案下访), a case's source and owner (包案领导)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-08 10:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

import casetrack.db.types

revision: str = '0014'
down_revision: Union[str, Sequence[str], None] = '0013'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    # ADD COLUMN, not a batch copy of cases (it would trip the events' foreign key on SQLite);
    # SQLite cannot add the CHECK of `source` that way, PostgreSQL gets it.
    op.add_column('cases', sa.Column('source', sa.String(length=12), server_default='visit', nullable=False,
                                     comment='visit (走访) or petition (接访)'))
    owner_comment = "the user its workflow's user field named (包案领导): sees the case and acts where the state says"
    if op.get_bind().dialect.name == "sqlite":  # a REFERENCES clause in ADD COLUMN, the one way without a copy
        op.execute("ALTER TABLE cases ADD COLUMN owner_id INTEGER "
                   "CONSTRAINT fk_cases_owner_id_users REFERENCES users (id)")
    else:
        op.add_column('cases', sa.Column('owner_id', sa.Integer(), nullable=True, comment=owner_comment))
        op.create_foreign_key(op.f('fk_cases_owner_id_users'), 'cases', 'users', ['owner_id'], ['id'])
    op.create_index(op.f('ix_cases_owner_id'), 'cases', ['owner_id'], unique=False)
    op.create_index('ix_cases_source_created', 'cases', ['source', 'created_at'], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.create_check_constraint(op.f('ck_cases_source'), 'cases', "source IN ('visit', 'petition')")

    op.create_table(
        'petitions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False, comment='the unit that received it'),
        sa.Column('received_on', sa.Date(), nullable=False, comment='the day, Asia/Shanghai'),
        sa.Column('place', sa.String(length=200), nullable=False),
        sa.Column('form', sa.String(length=12), nullable=False,
                  comment='visit 来访, letter 来信, online 网上, phone 电话'),
        sa.Column('persons', sa.Integer(), nullable=False, comment='how many came in this batch (人次)'),
        sa.Column('collective', sa.Boolean(), nullable=False, comment='a collective visit (集体访)'),
        sa.Column('subject', sa.String(length=200), nullable=False),
        sa.Column('details', sa.Text(), nullable=False),
        sa.Column('category_id', sa.Integer(), nullable=False),
        sa.Column('residents', sa.JSON(), nullable=False,
                  comment='personal data: [{name, phone}] of the petitioners named'),
        sa.Column('case_id', sa.Integer(), nullable=True, comment='the case it was filed as, if any'),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', casetrack.db.types.UTCDateTime(), nullable=False),
        sa.CheckConstraint("form IN ('visit', 'letter', 'online', 'phone')", name=op.f('ck_petitions_form')),
        sa.CheckConstraint('persons >= 1', name=op.f('ck_petitions_persons')),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_petitions_case_id_cases')),
        sa.ForeignKeyConstraint(['category_id'], ['categories.id'], name=op.f('fk_petitions_category_id_categories')),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_petitions_created_by_id_users')),
        sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_petitions_unit_id_units')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_petitions')),
    )
    op.create_index(op.f('ix_petitions_case_id'), 'petitions', ['case_id'], unique=False)
    op.create_index('ix_petitions_day_unit', 'petitions', ['received_on', 'unit_id'], unique=False)
    op.create_index('ix_petitions_unit_id', 'petitions', ['unit_id', 'id'], unique=False)

    op.create_table(
        'take_downs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('cadre_id', sa.Integer(), nullable=False),
        sa.Column('group_id', sa.Integer(), nullable=False, comment="the case's filing unit (its scope)"),
        sa.Column('taken_on', sa.Date(), nullable=False, comment='the day, Asia/Shanghai'),
        sa.Column('recorded_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', casetrack.db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['cadre_id'], ['users.id'], name=op.f('fk_take_downs_cadre_id_users')),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_take_downs_case_id_cases')),
        sa.ForeignKeyConstraint(['group_id'], ['units.id'], name=op.f('fk_take_downs_group_id_units')),
        sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_take_downs_recorded_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_take_downs')),
    )
    op.create_index(op.f('ix_take_downs_case_id'), 'take_downs', ['case_id'], unique=False)
    op.create_index('ix_take_downs_day', 'take_downs', ['taken_on', 'group_id'], unique=False)


def downgrade() -> None:
    op.drop_table('take_downs')
    op.drop_table('petitions')
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint(op.f('ck_cases_source'), 'cases', type_='check')
        op.drop_constraint(op.f('fk_cases_owner_id_users'), 'cases', type_='foreignkey')
    op.drop_index('ix_cases_source_created', table_name='cases')
    op.drop_index(op.f('ix_cases_owner_id'), table_name='cases')
    op.drop_column('cases', 'owner_id')
    op.drop_column('cases', 'source')
