"""targets first reached and first visited: daily figures `first_reach` and `first_own_visit`
(every target, active or not, by the day of its first reach, and of its first visit as a visit's
own target), from which the bulletin counts the targets reached and visited since the campaign
began; filled here from the visits, as `rebuild-summaries` would (services/figures/definitions.py)

Revision ID: 0028_first_reach
Revises: 0027_photo_queue
Create Date: 2026-12-07 05:30:00

"""
from typing import Sequence, Union

from alembic import op

revision: str = '0028_first_reach'
down_revision: Union[str, Sequence[str], None] = '0027_photo_queue'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

REACH = """SELECT target_id, visited_on FROM visits UNION ALL
           SELECT vt.target_id, v.visited_on FROM visit_targets vt JOIN visits v ON v.id = vt.visit_id"""
OWN = "SELECT target_id, visited_on FROM visits"


def upgrade() -> None:
    op.execute("DELETE FROM daily_figures WHERE figure IN ('first_reach', 'first_own_visit')")
    for figure, visits in (("first_reach", REACH), ("first_own_visit", OWN)):
        op.execute(f"""INSERT INTO daily_figures (figure, day, group_id, detail, n, funds, donations)
            SELECT '{figure}', f.day, f.group_id, f.kind, COUNT(*), 0, 0 FROM (
                SELECT t.group_id, t.kind, MIN(r.visited_on) AS day FROM targets t
                JOIN ({visits}) r ON r.target_id = t.id GROUP BY t.id, t.group_id, t.kind) f
            GROUP BY f.day, f.group_id, f.kind""")


def downgrade() -> None:
    op.execute("DELETE FROM daily_figures WHERE figure IN ('first_reach', 'first_own_visit')")
