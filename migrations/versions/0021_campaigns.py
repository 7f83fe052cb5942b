"""campaigns: several campaigns in one deployment (the grand visit and the civilized-city
inspection and rectification)

cases.campaign and targets.campaign (default 'visit', so every row so far is the grand visit's);
campaign_units (the units that take part in a campaign); campaign_pairs (county units paired
with a community, 包抓共建); site_inspections (a site ticked against
its kind's checklist); the role `inspector`, the unit kind
`inspection` (督查组), the site kinds of targets (点位) and the case source `inspection`. The
check that tied the state named 'department' to a department drops: state names live only in
the workflow files (the engine sets the department of every department-level state).

Revision ID: 0021_campaigns
Revises: 0024
Create Date: 2026-12-06 19:30:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

import casetrack.db.types

revision: str = '0021_campaigns'
down_revision: Union[str, Sequence[str], None] = '0024'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

ROLES_BEFORE = ('group_member', 'group_leader', 'team_leader', 'county_officer', 'department_handler', 'admin',
                'leader')
ROLES = ROLES_BEFORE + ('inspector',)
UNIT_KINDS_BEFORE = ('province', 'city', 'county', 'department', 'team', 'group')
UNIT_KINDS = UNIT_KINDS_BEFORE + ('inspection',)
TARGET_KINDS_BEFORE = ('farm_household', 'urban_household', 'newcomer_household', 'enterprise', 'community',
                       'village', 'key_project', 'school', 'building_site', 'place')
TARGET_KINDS = TARGET_KINDS_BEFORE[:-1] + ('farm_market', 'back_alley', 'old_compound', 'public_toilet',
                                           'park_square', 'school_area', 'hospital', 'place')
SOURCES_BEFORE = ('visit', 'petition')
SOURCES = SOURCES_BEFORE + ('inspection',)
DEPARTMENT_STATE = "state <> 'department' OR department_id IS NOT NULL"


def _in(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


def _sqlite_check(table: str, name: str, condition: str | None) -> None:
    """Rewrite (or, condition None, remove) a CHECK constraint in SQLite's stored definition of
    the table: SQLite alters no constraint, and a copy of the table would break its children's
    foreign keys inside the migration's transaction; every row passes the new condition."""
    conn = op.get_bind()
    sql = conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?",
                               (table,)).scalar_one()
    head = f"CONSTRAINT ck_{table}_{name} CHECK ("
    start = sql.find(head)
    if start < 0:
        raise RuntimeError(f"{table}: constraint ck_{table}_{name} not found")
    end, depth = start + len(head), 1
    while depth:
        depth += {"(": 1, ")": -1}.get(sql[end], 0)
        end += 1
    if condition is None:
        start = sql.rindex(",", 0, start)   # with the comma before it
        new = sql[:start] + sql[end:]
    else:
        new = sql[:start] + f"{head}{condition})" + sql[end:]
    version = conn.exec_driver_sql("PRAGMA schema_version").scalar_one()
    conn.exec_driver_sql("PRAGMA writable_schema = ON")
    conn.exec_driver_sql("UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = ?", (new, table))
    conn.exec_driver_sql(f"PRAGMA schema_version = {version + 1}")
    conn.exec_driver_sql("PRAGMA writable_schema = OFF")


def _check(table: str, name: str, condition: str | None, sqlite: bool = True) -> None:
    if op.get_bind().dialect.name == "sqlite":
        if sqlite:
            _sqlite_check(table, name, condition)
        return
    op.drop_constraint(op.f(f'ck_{table}_{name}'), table, type_='check')
    if condition is not None:
        op.create_check_constraint(op.f(f'ck_{table}_{name}'), table, condition)


def _checks(roles, unit_kinds, target_kinds, sources) -> None:
    _check('users', 'role', f"role IN {_in(roles)}")
    _check('units', 'kind', f"kind IN {_in(unit_kinds)}")
    _check('targets', 'kind', f"kind IN {_in(target_kinds)}")
    _check('cases', 'source', f"source IN {_in(sources)}", sqlite=False)   # SQLite's cases never had it


def upgrade() -> None:
    op.add_column('cases', sa.Column('campaign', sa.String(length=40), server_default='visit', nullable=False,
                                     comment='the campaign (活动) it belongs to: workflows/campaigns.yaml'))
    op.add_column('targets', sa.Column('campaign', sa.String(length=40), server_default='visit', nullable=False,
                                       comment='the campaign it is a target of (a site of the rectification)'))
    op.create_table(
        'campaign_units',
        sa.Column('campaign', sa.String(length=40), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_campaign_units_unit_id_units')),
        sa.PrimaryKeyConstraint('campaign', 'unit_id', name=op.f('pk_campaign_units')))
    op.create_index(op.f('ix_campaign_units_unit_id'), 'campaign_units', ['unit_id'], unique=False)
    op.create_table(
        'campaign_pairs',
        sa.Column('campaign', sa.String(length=40), nullable=False),
        sa.Column('community', sa.String(length=80), nullable=False, comment="as the sites' village names it"),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_campaign_pairs_unit_id_units')),
        sa.PrimaryKeyConstraint('campaign', 'community', 'unit_id', name=op.f('pk_campaign_pairs')))
    op.create_index(op.f('ix_campaign_pairs_unit_id'), 'campaign_pairs', ['unit_id'], unique=False)
    op.create_table(
        'site_inspections',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('campaign', sa.String(length=40), nullable=False),
        sa.Column('target_id', sa.Integer(), nullable=False, comment='the site'),
        sa.Column('unit_id', sa.Integer(), nullable=False, comment='the inspection unit'),
        sa.Column('inspected_on', sa.Date(), nullable=False, comment='the day, Asia/Shanghai'),
        sa.Column('results', sa.JSON(), nullable=False, comment='item code -> true (达标) or false (不达标)'),
        sa.Column('cases', sa.JSON(), nullable=False, comment='item code -> the case filed for it'),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', casetrack.db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_site_inspections_created_by_id_users')),
        sa.ForeignKeyConstraint(['target_id'], ['targets.id'], name=op.f('fk_site_inspections_target_id_targets')),
        sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_site_inspections_unit_id_units')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_site_inspections')))
    op.create_index('ix_site_inspections_site_day', 'site_inspections', ['target_id', 'inspected_on'], unique=False)
    op.create_index(op.f('ix_site_inspections_unit_id'), 'site_inspections', ['unit_id'], unique=False)
    _checks(ROLES, UNIT_KINDS, TARGET_KINDS, SOURCES)
    _check('cases', 'department_state', None)
    _group_comment(GROUP_COMMENT, GROUP_COMMENT_BEFORE)


GROUP_COMMENT_BEFORE = 'the responsible work group'
GROUP_COMMENT = "the responsible work group (a site's: its responsible unit)"


def _group_comment(comment: str, before: str) -> None:
    if op.get_bind().dialect.name == "postgresql":   # SQLite keeps no comments
        op.alter_column('targets', 'group_id', comment=comment, existing_comment=before,
                        existing_type=sa.Integer(), existing_nullable=False)


def downgrade() -> None:
    conn = op.get_bind()
    if conn.exec_driver_sql(
            "SELECT (SELECT count(*) FROM cases WHERE campaign <> 'visit' OR source = 'inspection') + "
            "(SELECT count(*) FROM targets WHERE campaign <> 'visit') + "
            "(SELECT count(*) FROM users WHERE role = 'inspector') + "
            "(SELECT count(*) FROM units WHERE kind = 'inspection')").scalar_one():
        raise RuntimeError("downgrade below 0021: remove the other campaigns' cases, sites, inspectors "
                           "and inspection units first")
    if conn.dialect.name == "sqlite":
        sql = conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'cases'").scalar_one()
        new = sql.replace("CONSTRAINT ck_cases_kind CHECK",
                          f"CONSTRAINT ck_cases_department_state CHECK ({DEPARTMENT_STATE}), "
                          f"CONSTRAINT ck_cases_kind CHECK", 1)
        version = conn.exec_driver_sql("PRAGMA schema_version").scalar_one()
        conn.exec_driver_sql("PRAGMA writable_schema = ON")
        conn.exec_driver_sql("UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = 'cases'", (new,))
        conn.exec_driver_sql(f"PRAGMA schema_version = {version + 1}")
        conn.exec_driver_sql("PRAGMA writable_schema = OFF")
    else:
        op.create_check_constraint(op.f('ck_cases_department_state'), 'cases', DEPARTMENT_STATE)
    _checks(ROLES_BEFORE, UNIT_KINDS_BEFORE, TARGET_KINDS_BEFORE, SOURCES_BEFORE)
    _group_comment(GROUP_COMMENT_BEFORE, GROUP_COMMENT)
    op.drop_index(op.f('ix_site_inspections_unit_id'), table_name='site_inspections')
    op.drop_index('ix_site_inspections_site_day', table_name='site_inspections')
    op.drop_table('site_inspections')
    op.drop_index(op.f('ix_campaign_pairs_unit_id'), table_name='campaign_pairs')
    op.drop_table('campaign_pairs')
    op.drop_index(op.f('ix_campaign_units_unit_id'), table_name='campaign_units')
    op.drop_table('campaign_units')
    op.drop_column('targets', 'campaign')
    op.drop_column('cases', 'campaign')
