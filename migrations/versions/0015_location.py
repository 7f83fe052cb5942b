"""location: coordinates (WGS-84) and an address on cases and visits, coordinates on targets;
a case's Open311 media_url and resident e-mail

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-20 10:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

revision: str = '0015'
down_revision: Union[str, Sequence[str], None] = '0014'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

LAT = 'latitude, WGS-84 degrees'
LONG = 'longitude, WGS-84 degrees'
ACCURACY = 'metres, as the device gave it'


def _coordinates(table: str, accuracy: bool) -> None:
    op.add_column(table, sa.Column('lat', sa.Float(), nullable=True, comment=LAT))
    op.add_column(table, sa.Column('long', sa.Float(), nullable=True, comment=LONG))
    if accuracy:
        op.add_column(table, sa.Column('location_accuracy', sa.Float(), nullable=True, comment=ACCURACY))


def upgrade() -> None:
    _coordinates('cases', True)
    op.add_column('cases', sa.Column('address', sa.String(length=200), server_default='', nullable=False,
                                     comment='where the problem is'))
    op.add_column('cases', sa.Column('media_url', sa.String(length=500), server_default='', nullable=False,
                                     comment="a photo's URL sent by another system (Open311)"))
    op.add_column('cases', sa.Column('resident_email', sa.String(length=120), server_default='',
                                     nullable=False, comment="personal data (Open311's email)"))
    _coordinates('visits', True)
    op.add_column('visits', sa.Column('address', sa.String(length=200), server_default='', nullable=False,
                                      comment='where the visit took place'))
    _coordinates('targets', False)


def downgrade() -> None:
    # ALTER TABLE ... DROP COLUMN (SQLite 3.35+): a batch copy of cases would trip the events' foreign key
    for table, columns in (('targets', ('long', 'lat')),
                           ('visits', ('address', 'location_accuracy', 'long', 'lat')),
                           ('cases', ('resident_email', 'media_url', 'address', 'location_accuracy',
                                      'long', 'lat'))):
        for column in columns:
            op.drop_column(table, column)
