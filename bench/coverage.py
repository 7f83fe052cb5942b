"""The coverage report over 600k targets and 3M visits vs the same figures by hand, same run;
and what keeping its pre-aggregated figures costs a visit.

Data from `generate`: the bulletin's data set (bench/bulletin.py; quick: 12k targets, 60k
visits), targets spread over the groups of a province of counties, visits on random days of the
120 days before NOW (some targets twice, some never), 1M cases (province: 5M) beside them.

`coverage`: ours is what the coverage page computes for the top unit (coverage by kind, every
team and group with its milestone status, one milestone already past); the baseline reads the
same sources by hand through the driver (sqlite3 or psycopg): targets assigned per group and
kind, and the daily figures' first visits per group and kind summed up to each day the page
shows. Both answers must agree. The correlated EXISTS over the raw visits (what the daily
figures spare a read) is timed once and shown.

`coverage_upkeep`: what keeping those figures costs a write: `record_visit` + commit by a
group leader with the daily figures kept (the use case's `summaries.recount`) vs the same with
that recount made a no-op, interleaved visit by visit. A measure, with no target.
"""
from __future__ import annotations

import re
import time
from contextlib import contextmanager, nullcontext
from datetime import date, timedelta
from unittest.mock import patch

from sqlalchemy import select

from bench.bulletin import NOW, data_set
from bench.common import best, line, measure, populated
from casetrack.extensions import db
from casetrack.models import Milestone, Target, Unit, User
from casetrack.services.workdays import calendar
from casetrack.services.figures import summaries
from casetrack.services.fieldwork.coverage import breakdown, coverage, report
from casetrack.services.fieldwork.visits import record_visit

AS_OF = NOW.date()
MILESTONES = [(date(2026, 5, 1), 0), (date(2026, 6, 30), 70), (date(2026, 7, 31), 100)]
# What the page shows: coverage on the day and on each milestone day already past (not a 0%).
DAYS = [AS_OF] + [day for day, percent in MILESTONES if day <= AS_OF and percent > 0]
ASSIGNED = "SELECT group_id, kind, COUNT(*) FROM targets WHERE active GROUP BY group_id, kind"
VISITED = f"""
SELECT group_id, detail, {', '.join(f"SUM(CASE WHEN day <= :d{i} THEN n ELSE 0 END)" for i in range(len(DAYS)))}
FROM daily_figures WHERE figure = 'first_visit' AND day <= :d0 GROUP BY group_id, detail
"""
RAW_VISITS = """
SELECT t.group_id, COUNT(*),
       SUM(CASE WHEN EXISTS (SELECT 1 FROM visits v WHERE v.target_id = t.id AND v.visited_on <= :d0)
           THEN 1 ELSE 0 END)
FROM targets t WHERE t.active GROUP BY t.group_id
"""
class _NotCounted:
    """A recount that counts nothing: a visit written as if the table were not kept."""
    def new_cases(self, _ids): pass
    def new_targets(self, _ids): pass
    def visits(self, _visits): pass


@contextmanager
def _not_kept(*_args, **_kwargs):
    yield _NotCounted()


def _page(unit: Unit):
    rep = report(unit, AS_OF)
    return coverage(unit, AS_OF, rep), breakdown(unit, AS_OF, rep)


def _by_hand(cursor, sqlite: bool) -> dict[int, list[int]]:
    """Group id -> [targets assigned, visited by each of DAYS], from the driver."""
    params = {f"d{i}": day.isoformat() if sqlite else day for i, day in enumerate(DAYS)}
    out: dict[int, list[int]] = {}
    cursor.execute(ASSIGNED)
    for group_id, _kind, n in cursor.fetchall():
        out.setdefault(group_id, [0] * (1 + len(DAYS)))[0] += n
    cursor.execute(VISITED if sqlite else re.sub(r":(d\d)\b", r"%(\1)s", VISITED), params)
    for group_id, _kind, *visited in cursor.fetchall():
        row = out.setdefault(group_id, [0] * (1 + len(DAYS)))
        row[1:] = [a + int(b or 0) for a, b in zip(row[1:], visited)]
    return out


def _upkeep(n: int) -> tuple[float, float]:
    """Seconds per visit recorded and committed, with the daily figures kept and without."""
    leader = db.session.scalars(select(User).where(User.role == "group_leader").order_by(User.id)).first()
    targets = list(db.session.scalars(select(Target.id).where(Target.group_id == leader.unit_id, Target.active)
                                      .order_by(Target.id).limit(2 * n)))
    leader_id, day = leader.id, (AS_OF - timedelta(days=1)).isoformat()
    spent = {"kept": 0.0, "not kept": 0.0}
    for kept, plain in zip(targets[::2], targets[1::2]):   # interleaved, visit by visit
        for side, target, around in (("kept", kept, nullcontext), ("not kept", plain, lambda: patch.object(summaries, "recount", _not_kept))):
            with around():   # switching the upkeep off is not timed
                start = time.perf_counter()
                record_visit(db.session.get(User, leader_id), target=target, date=day, notes="入户走访")
                db.session.commit()
                spent[side] += time.perf_counter() - start
    done = len(targets) // 2
    return spent["kept"] / done, spent["not kept"] / done


def run(databases, quick: bool) -> bool:
    url, (_cases, visits, targets) = data_set(databases, quick, copy=True)  # a copy: milestones and visits are added
    try:
        with calendar.at(NOW), populated(url):
            top = db.session.scalars(select(Unit).where(Unit.parent_id.is_(None), Unit.kind != "department")
                                     .order_by(Unit.id)).first()
            for day, percent in MILESTONES:
                db.session.add(Milestone(unit_id=top.id, due_on=day, target_percent=percent))
            db.session.commit()
            sqlite = db.engine.dialect.name == "sqlite"
            raw = db.engine.raw_connection()
            try:
                cursor = raw.cursor()
                t_base, hand = best(lambda: _by_hand(cursor, sqlite), 3)
                raw.rollback()
                t_ours, (figures, table) = best(lambda: _page(top), 3)
                mine = {r["unit"].id: [r["assigned"], r["visited"]] for r in table
                        if r["level"] == "group" and (r["assigned"] or r["visited"])}
                assert mine == {g: row[:2] for g, row in hand.items() if any(row[:2])}, \
                    "the page's groups disagree with the baseline"
                totals = [sum(row[i] for row in hand.values()) for i in range(1 + len(DAYS))]
                assert [figures["assigned"], figures["visited"]] == totals[:2], "the totals disagree"
                past = [m["status"] for m in figures["milestones"]]
                # the milestone already past (70% by June 30) read from the baseline's sum on its day
                assert past[1] == ("met" if totals[2] >= 0.7 * totals[0] else "behind"), (past, totals)
                raw_sql = RAW_VISITS if sqlite else re.sub(r":d0\b", "%(d0)s", RAW_VISITS)
                t_raw, _rows = best(lambda: cursor.execute(raw_sql, {"d0": AS_OF.isoformat() if sqlite else AS_OF})
                                    .fetchall(), 1)
                raw.rollback()
            finally:
                raw.close()
            ok = line("coverage", t_ours / t_base, "<=", 2,
                      f"report {t_ours:.3f} s, the same sums by hand through the driver {t_base:.3f} s (targets "
                      f"by group and kind, daily first visits on {len(DAYS)} days); the correlated EXISTS over "
                      f"raw visits instead {t_raw:.3f} s; {targets} targets, {visits} visits, rate "
                      f"{figures['rate']:.3f}, {len(table)} teams and groups, milestones {past}")
            n = 100 if quick else 500
            kept, plain = _upkeep(n)
            measure("coverage_upkeep", kept / plain,
                    f"record_visit + commit {1000 * kept:.2f} ms with the daily figures kept, {1000 * plain:.2f} ms "
                    f"without (its recount switched off): {1000 * (kept - plain):.2f} ms a visit; n={n} each")
            return ok
    finally:
        databases.drop(url)
