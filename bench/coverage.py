"""The coverage report over 600k targets and 3M visits vs one hand-written GROUP BY, same run.

Data from `generate`: the bulletin's data set (bench/bulletin.py; quick: 12k targets, 60k
visits), targets spread over the groups of a province of counties, visits on random days of the
120 days before NOW (some targets twice, some never), 1M cases (province: 5M) beside them. Ours:
what the coverage page computes for the top unit (coverage by kind, every team and group with
its milestone status, one milestone already past); the baseline: one GROUP BY giving the
coverage per group as of the same day.
"""
from __future__ import annotations

from datetime import date

from sqlalchemy import select, text

from bench.bulletin import NOW, data_set
from bench.common import line, populated, timed
from casetrack.extensions import db
from casetrack.models import Milestone, Unit
from casetrack.services import calendar
from casetrack.services.coverage import breakdown, coverage, report

AS_OF = NOW.date()
BASELINE = """
SELECT t.group_id, COUNT(*),
       SUM(CASE WHEN EXISTS (SELECT 1 FROM visits v WHERE v.target_id = t.id AND v.visited_on <= :day)
           THEN 1 ELSE 0 END)
FROM targets t WHERE t.active GROUP BY t.group_id
"""


def _page(unit: Unit):
    rep = report(unit, AS_OF)
    return coverage(unit, AS_OF, rep), breakdown(unit, AS_OF, rep)


def run(databases, quick: bool) -> bool:
    url, (_cases, visits, targets) = data_set(databases, quick, copy=True)  # a copy: milestones are added
    try:
        with calendar.at(NOW), populated(url):
            top = db.session.scalars(select(Unit).where(Unit.parent_id.is_(None), Unit.kind != "department")
                                     .order_by(Unit.id)).first()
            for day, percent in [(date(2026, 5, 1), 0), (date(2026, 6, 30), 70), (date(2026, 7, 31), 100)]:
                db.session.add(Milestone(unit_id=top.id, due_on=day, target_percent=percent))
            db.session.commit()
            rows = db.session.execute(text(BASELINE), {"day": AS_OF}).all()
            figures, table = _page(top)
            assert figures["assigned"] == targets and figures["visited"] == sum(r[2] for r in rows), \
                "the report disagrees with the baseline"
            t_base = timed(lambda: db.session.execute(text(BASELINE), {"day": AS_OF}).all(), 1)
            t_ours = timed(lambda: _page(top), 1)
            return line("coverage", t_ours / t_base, "<=", 2,
                        f"report {t_ours:.3f} s, one GROUP BY {t_base:.3f} s; {targets} targets, {visits} "
                        f"visits, rate {figures['rate']:.3f}, {len(table)} teams and groups")
    finally:
        databases.drop(url)
