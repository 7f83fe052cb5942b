"""A shared problem's parent is filed at the level that linked it, not by its first member's group

The parent of a shared problem took the first member's group as its filing unit, so that group
read every member case through it. Parents made before are moved to the unit that linked them
(the unit of their creating 'link' event: a team or the county office). The bulletin's totals
are unchanged; a parent's money was counted under that group and stays there until
`rebuild-summaries` moves it to the linking unit.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 15:40:00

"""
from typing import Sequence, Union

from alembic import op

revision: str = '0008'
down_revision: Union[str, Sequence[str], None] = '0007'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.execute(
        "UPDATE cases SET group_id = (SELECT e.to_unit_id FROM case_events e WHERE e.case_id = cases.id "
        "AND e.trigger = 'link' AND e.from_state IS NULL ORDER BY e.id LIMIT 1) "
        "WHERE EXISTS (SELECT 1 FROM case_events e WHERE e.case_id = cases.id "
        "AND e.trigger = 'link' AND e.from_state IS NULL)")


def downgrade() -> None:
    op.execute(
        "UPDATE cases SET group_id = (SELECT m.group_id FROM cases m WHERE m.parent_id = cases.id "
        "ORDER BY m.id LIMIT 1) WHERE EXISTS (SELECT 1 FROM cases m WHERE m.parent_id = cases.id)")
