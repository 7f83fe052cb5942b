"""The campaign ledger: posts and the leader role, visits reaching many targets, suggestions as
items, leaders' contact points, the day a problem was found

users.post (principal leader or party secretary) and the role `leader`; targets of kind `place`
(reached on a leader's visit, never assigned); visits.form and visit_targets (the further
targets a visit reached); suggestions (意见建议) with their answers; contact_points (联系点);
cases.found_on, filled with the filing day (Asia/Shanghai) of the cases there. Daily figures
are unchanged until `rebuild-summaries`, which also counts the posts' person-times.

Revision ID: 0013
Revises: 0011
Create Date: 2026-12-08 10:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

import casetrack.db.types

revision: str = '0013'
down_revision: Union[str, Sequence[str], None] = '0011'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

ROLES_BEFORE = ('group_member', 'group_leader', 'team_leader', 'county_officer', 'department_handler', 'admin')
ROLES = ROLES_BEFORE + ('leader',)
POSTS = ('city_principal', 'county_principal', 'secretary_city', 'secretary_county', 'secretary_township',
         'secretary_village')
KINDS_BEFORE = ('farm_household', 'urban_household', 'newcomer_household', 'enterprise', 'community', 'village',
                'key_project', 'school', 'building_site')
KINDS = KINDS_BEFORE + ('place',)


def _checks(table: str, before: dict[str, str], after: dict[str, str]) -> None:
    """Replace a table's CHECK constraints `before` (name: condition) with `after`. SQLite alters
    no constraint and a copy of the table would break its children's foreign keys inside the
    migration's transaction: its stored definition is rewritten in place instead, the procedure
    SQLite documents for constraints that change nothing on disk (every row passes `after`)."""
    def clause(name: str, condition: str) -> str:
        return f"CONSTRAINT ck_{table}_{name} CHECK ({condition})"

    conn = op.get_bind()
    if conn.dialect.name != "sqlite":
        for name in before:
            op.drop_constraint(op.f(f'ck_{table}_{name}'), table, type_='check')
        for name, condition in after.items():
            op.create_check_constraint(op.f(f'ck_{table}_{name}'), table, condition)
        return
    sql = conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?",
                               (table,)).scalar_one()
    old = ", ".join(clause(n, c) for n, c in before.items())
    if old not in sql:
        raise RuntimeError(f"{table}: constraint not found as expected: {old}")
    version = conn.exec_driver_sql("PRAGMA schema_version").scalar_one()
    conn.exec_driver_sql("PRAGMA writable_schema = ON")
    conn.exec_driver_sql("UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = ?",
                         (sql.replace(old, ", ".join(clause(n, c) for n, c in after.items())), table))
    conn.exec_driver_sql(f"PRAGMA schema_version = {version + 1}")
    conn.exec_driver_sql("PRAGMA writable_schema = OFF")


def _in(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


def upgrade() -> None:
    op.add_column('users', sa.Column('post', sa.String(length=30), nullable=True,
                                     comment='principal leader or party secretary; none'))
    _checks('users', {'role': f"role IN {_in(ROLES_BEFORE)}"},
            {'role': f"role IN {_in(ROLES)}", 'post': f"post IS NULL OR post IN {_in(POSTS)}"})
    _checks('targets', {'kind': f"kind IN {_in(KINDS_BEFORE)}"}, {'kind': f"kind IN {_in(KINDS)}"})
    op.add_column('visits', sa.Column('form', sa.String(length=20), nullable=True,
                                      comment='door_to_door, meeting, enterprise, reception, other; none: not said'))
    op.create_table(
        'visit_targets',
        sa.Column('visit_id', sa.Integer(), nullable=False),
        sa.Column('target_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['target_id'], ['targets.id'], name=op.f('fk_visit_targets_target_id_targets')),
        sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], name=op.f('fk_visit_targets_visit_id_visits'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('visit_id', 'target_id', name=op.f('pk_visit_targets')))
    op.create_index(op.f('ix_visit_targets_target_id'), 'visit_targets', ['target_id'], unique=False)
    op.create_table(
        'suggestions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('visit_id', sa.Integer(), nullable=False),
        sa.Column('group_id', sa.Integer(), nullable=False, comment='the work group that collected it'),
        sa.Column('unit_id', sa.Integer(), nullable=False, comment='the unit that must answer it'),
        sa.Column('category_id', sa.Integer(), nullable=True),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('answer', sa.String(length=20), nullable=True, comment='adopted, partly_adopted, explained'),
        sa.Column('answer_text', sa.Text(), nullable=False),
        sa.Column('answered_at', casetrack.db.types.UTCDateTime(), nullable=True),
        sa.Column('answered_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', casetrack.db.types.UTCDateTime(), nullable=False),
        sa.CheckConstraint("answer IS NULL OR answer IN ('adopted', 'partly_adopted', 'explained')",
                           name=op.f('ck_suggestions_answer')),
        sa.CheckConstraint('(answer IS NULL) = (answered_at IS NULL)', name=op.f('ck_suggestions_answered')),
        sa.ForeignKeyConstraint(['answered_by_id'], ['users.id'], name=op.f('fk_suggestions_answered_by_id_users')),
        sa.ForeignKeyConstraint(['category_id'], ['categories.id'], name=op.f('fk_suggestions_category_id_categories')),
        sa.ForeignKeyConstraint(['group_id'], ['units.id'], name=op.f('fk_suggestions_group_id_units')),
        sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_suggestions_unit_id_units')),
        sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], name=op.f('fk_suggestions_visit_id_visits')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_suggestions')))
    op.create_index('ix_suggestions_group_id_id', 'suggestions', ['group_id', 'id'], unique=False)
    op.create_index('ix_suggestions_unit_id_id', 'suggestions', ['unit_id', 'id'], unique=False)
    op.create_index(op.f('ix_suggestions_visit_id'), 'suggestions', ['visit_id'], unique=False)
    op.create_index(op.f('ix_suggestions_answered_at'), 'suggestions', ['answered_at'], unique=False)
    op.create_table(
        'contact_points',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('leader_id', sa.Integer(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=True, comment='a group or team'),
        sa.Column('target_id', sa.Integer(), nullable=True, comment='a village, enterprise...'),
        sa.Column('created_at', casetrack.db.types.UTCDateTime(), nullable=False),
        sa.CheckConstraint('(unit_id IS NULL) <> (target_id IS NULL)', name=op.f('ck_contact_points_one_place')),
        sa.ForeignKeyConstraint(['leader_id'], ['users.id'], name=op.f('fk_contact_points_leader_id_users')),
        sa.ForeignKeyConstraint(['target_id'], ['targets.id'], name=op.f('fk_contact_points_target_id_targets')),
        sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_contact_points_unit_id_units')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_contact_points')))
    op.create_index(op.f('ix_contact_points_leader_id'), 'contact_points', ['leader_id'], unique=False)
    # NOT NULL from the start (SQLite adds no such column without a default), then each case's
    # filing day; PostgreSQL drops the placeholder default.
    op.add_column('cases', sa.Column('found_on', sa.Date(), nullable=False, server_default='1970-01-01',
                                     comment='the day the visit or reception found it (Asia/Shanghai); '
                                             'the bulletin counts a problem found on it'))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("UPDATE cases SET found_on = (created_at AT TIME ZONE 'UTC' AT TIME ZONE 'Asia/Shanghai')::date")
        op.alter_column('cases', 'found_on', server_default=None)
    else:  # stored as naive UTC text; Asia/Shanghai keeps no daylight saving
        op.execute("UPDATE cases SET found_on = date(created_at, '+8 hours')")


def downgrade() -> None:
    left = op.get_bind().exec_driver_sql(
        "SELECT (SELECT count(*) FROM users WHERE role = 'leader') + "
        "(SELECT count(*) FROM targets WHERE kind = 'place')").scalar_one()
    if left:
        raise RuntimeError("downgrade below 0013: remove the leaders' accounts and the places first")
    op.drop_column('cases', 'found_on')
    op.drop_table('contact_points')
    op.drop_table('suggestions')
    op.drop_table('visit_targets')
    op.drop_column('visits', 'form')
    _checks('targets', {'kind': f"kind IN {_in(KINDS)}"}, {'kind': f"kind IN {_in(KINDS_BEFORE)}"})
    _checks('users', {'role': f"role IN {_in(ROLES)}", 'post': f"post IS NULL OR post IN {_in(POSTS)}"},
            {'role': f"role IN {_in(ROLES_BEFORE)}"})
    op.drop_column('users', 'post')
