"""cases: chain_head and seal, the audit chain's keyed head kept on the case row

Each case holds the hash of its newest event (chain_head) and an HMAC, with the app's
AUDIT_KEY, over its id, that head and the columns its events change (seal): audit-verify finds
a row edited in the database, or a chain whose newest events were removed. The data step
gives every existing case its head and seal with the key configured now: set AUDIT_KEY (or keep
instance/audit_key) before upgrading, and run audit-verify first, since what is sealed here is
taken as it stands. Events written before this migration keep their unkeyed sha256 hashes.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 10:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

from casetrack.db.bulk import driver_marks
from casetrack.models.cases import SEALED_COLUMNS, case_seal

revision: str = '0010'
down_revision: Union[str, Sequence[str], None] = '0009'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

BATCH = 5000


def _audit_key() -> bytes:
    """The app's key: init-db runs this in the app's context, the alembic command without one."""
    from flask import current_app, has_app_context
    if has_app_context():
        return current_app.config["AUDIT_KEY"].encode()
    from casetrack import create_app
    return create_app().config["AUDIT_KEY"].encode()


def upgrade() -> None:
    op.add_column('cases', sa.Column('chain_head', sa.String(length=64), server_default='', nullable=False,
                                     comment="hash of the case's newest event: its chain's head"))
    op.add_column('cases', sa.Column('seal', sa.String(length=64), server_default='', nullable=False,
                                     comment='HMAC over the id, chain_head and SEALED_COLUMNS: '
                                             'the row as its events left it'))
    conn, key, after = op.get_bind(), _audit_key(), 0
    if conn.dialect.name == "postgresql":  # SQLite keeps no comments
        op.alter_column('case_events', 'hash', existing_type=sa.String(length=64), existing_nullable=False,
                        comment="HMAC-SHA256 (the app's AUDIT_KEY) over prev_hash and this row: the tamper-evident chain",
                        existing_comment='sha256 over prev_hash and this row: the tamper-evident chain')
    update = f"UPDATE cases SET chain_head = {driver_marks(conn, 1)}, seal = {driver_marks(conn, 1)} " \
             f"WHERE id = {driver_marks(conn, 1)}"
    while True:
        rows = conn.exec_driver_sql(
            "SELECT c.id, coalesce((SELECT e.hash FROM case_events e WHERE e.case_id = c.id "
            f"ORDER BY e.id DESC LIMIT 1), ''), {', '.join(f'c.{name}' for name in SEALED_COLUMNS)} "
            f"FROM cases c WHERE c.id > {after} ORDER BY c.id LIMIT {BATCH}").fetchall()
        if not rows:
            return
        conn.exec_driver_sql(update, [(head, case_seal(key, case_id, head, sealed), case_id)
                                      for case_id, head, *sealed in rows])
        after = rows[-1][0]


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column('case_events', 'hash', existing_type=sa.String(length=64), existing_nullable=False,
                        comment='sha256 over prev_hash and this row: the tamper-evident chain')
    # ALTER TABLE ... DROP COLUMN (SQLite 3.35+): a batch copy of cases would trip the events' foreign key
    op.drop_column('cases', 'seal')
    op.drop_column('cases', 'chain_head')
