"""bulletins as official documents: type, yearly number and running total, narrative, 签发, 版记

Existing issues become 简报 (`briefing`), numbered again per year of publication (Asia/Shanghai)
in the order they were published; their running total (总第N期) is their old number. A bulletin
without published_at is a draft. bulletin_settings holds, per unit and type, the circulation
lines and the text template the office set.

Revision ID: 0020
Revises: 0018
Create Date: 2026-12-20 10:00:00

"""
from typing import Sequence, Union
from zoneinfo import ZoneInfo

from alembic import op
import sqlalchemy as sa

import casetrack.db.types

revision: str = '0020'
down_revision: Union[str, Sequence[str], None] = '0018'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

TYPES = ('briefing', 'special', 'express', 'circular')
NUMBERED = ("(published_at IS NULL AND number IS NULL AND year IS NULL AND total IS NULL) OR "
            "(published_at IS NOT NULL AND number IS NOT NULL AND year IS NOT NULL AND total IS NOT NULL)")


def _renumber() -> None:
    bulletins = sa.table('bulletins', sa.column('id', sa.Integer), sa.column('unit_id', sa.Integer),
                         sa.column('number', sa.Integer), sa.column('year', sa.Integer),
                         sa.column('total', sa.Integer), sa.column('narrative', sa.JSON),
                         sa.column('typical', sa.JSON),
                         sa.column('published_at', casetrack.db.types.UTCDateTime()))
    connection = op.get_bind()
    rows = connection.execute(sa.select(bulletins.c.id, bulletins.c.unit_id, bulletins.c.number,
                                        bulletins.c.published_at)
                              .order_by(bulletins.c.unit_id, bulletins.c.number)).all()
    counted: dict[tuple[int, int], int] = {}
    for id_, unit_id, number, published_at in rows:
        year = published_at.astimezone(ZoneInfo('Asia/Shanghai')).year
        counted[unit_id, year] = counted.get((unit_id, year), 0) + 1
        connection.execute(bulletins.update().where(bulletins.c.id == id_).values(
            year=year, total=number, number=-id_))   # apart first: (unit, number) may repeat mid-way
    for (unit_id, year), _n in counted.items():
        ids = connection.execute(sa.select(bulletins.c.id).where(bulletins.c.unit_id == unit_id,
                                                                 bulletins.c.year == year)
                                 .order_by(bulletins.c.total)).scalars().all()
        for n, id_ in enumerate(ids, 1):
            connection.execute(bulletins.update().where(bulletins.c.id == id_).values(number=n))
    connection.execute(bulletins.update().values(narrative={}, typical=[]))


def upgrade() -> None:
    op.create_table('bulletin_settings',
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('type', sa.String(length=10), nullable=False),
    sa.Column('main_to', sa.Text(), nullable=False, comment='主送'),
    sa.Column('copy_to', sa.Text(), nullable=False, comment='抄送'),
    sa.Column('printed_by', sa.Text(), nullable=False, comment='印发: the printing office'),
    sa.Column('template', sa.JSON(), nullable=True,
              comment='section -> the text a new draft starts from; none: the draft from the figures'),
    sa.CheckConstraint(f"type IN {TYPES}", name=op.f('ck_bulletin_settings_type')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_bulletin_settings_unit_id_units')),
    sa.PrimaryKeyConstraint('unit_id', 'type', name=op.f('pk_bulletin_settings'))
    )
    with op.batch_alter_table('bulletins', schema=None) as batch_op:
        batch_op.add_column(sa.Column('type', sa.String(length=10), server_default='briefing', nullable=False,
                                      comment='briefing 简报, special 专报, express 快报, circular 督查通报'))
        batch_op.add_column(sa.Column('year', sa.Integer(), nullable=True,
                                      comment='the year of publication (2026年第N期)'))
        batch_op.add_column(sa.Column('total', sa.Integer(), nullable=True,
                                      comment='总第N期: counted per issuing unit and type'))
        batch_op.add_column(sa.Column('narrative', sa.JSON(), nullable=True,
                                      comment="section -> the office's text, figures as {{ placeholders }}"))
        batch_op.add_column(sa.Column('typical', sa.JSON(), nullable=True,
                                      comment='ids of the closed cases picked (典型)'))
        batch_op.add_column(sa.Column('signed_by', sa.String(length=60), nullable=True,
                                      comment='签发: who signed it off'))
        batch_op.add_column(sa.Column('circulation', sa.JSON(), nullable=True,
                                      comment='主送 / 抄送 / 印发 as published'))
        batch_op.add_column(sa.Column('corrects_id', sa.Integer(), nullable=True,
                                      comment='the issue this one corrects'))
        batch_op.drop_constraint('uq_bulletins_unit_number', type_='unique')
        batch_op.alter_column('number', existing_type=sa.Integer(), nullable=True,
                              comment='第N期: counted per issuing unit, type and year',
                              existing_comment='第N期, counted per issuing unit')
        batch_op.alter_column('published_at', existing_type=casetrack.db.types.UTCDateTime(), nullable=True,
                              comment='none: a draft')
        batch_op.alter_column('published_by_id', existing_type=sa.Integer(),
                              comment='the publisher (of a draft: its author)')
    _renumber()
    with op.batch_alter_table('bulletins', schema=None) as batch_op:
        batch_op.alter_column('narrative', existing_type=sa.JSON(), nullable=False)
        batch_op.alter_column('typical', existing_type=sa.JSON(), nullable=False)
        batch_op.create_foreign_key(op.f('fk_bulletins_corrects_id_bulletins'), 'bulletins', ['corrects_id'], ['id'])
        batch_op.create_unique_constraint('uq_bulletins_unit_type_year_number', ['unit_id', 'type', 'year', 'number'])
        batch_op.create_check_constraint('type', f"type IN {TYPES}")
        batch_op.create_check_constraint('numbered_when_published', NUMBERED)


def downgrade() -> None:
    op.execute("DELETE FROM bulletins WHERE published_at IS NULL")
    op.execute("DELETE FROM bulletins WHERE type <> 'briefing'")
    with op.batch_alter_table('bulletins', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_bulletins_numbered_when_published'), type_='check')
        batch_op.drop_constraint(op.f('ck_bulletins_type'), type_='check')
        batch_op.drop_constraint('uq_bulletins_unit_type_year_number', type_='unique')
        batch_op.drop_constraint(op.f('fk_bulletins_corrects_id_bulletins'), type_='foreignkey')
    op.execute("UPDATE bulletins SET number = total")
    with op.batch_alter_table('bulletins', schema=None) as batch_op:
        batch_op.alter_column('published_at', existing_type=casetrack.db.types.UTCDateTime(), nullable=False,
                              comment=None)
        batch_op.alter_column('number', existing_type=sa.Integer(), nullable=False,
                              comment='第N期, counted per issuing unit')
        batch_op.alter_column('published_by_id', existing_type=sa.Integer(), comment=None)
        batch_op.create_unique_constraint('uq_bulletins_unit_number', ['unit_id', 'number'])
        for column in ('corrects_id', 'circulation', 'signed_by', 'typical', 'narrative', 'total', 'year', 'type'):
            batch_op.drop_column(column)
    op.drop_table('bulletin_settings')
