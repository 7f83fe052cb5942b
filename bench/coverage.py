"""Coverage report over many targets and visits, against one raw GROUP BY in the same run.

    python bench/coverage.py            # 20,000 targets, 60,000 visits
    python bench/coverage.py --full     # 1,000,000 targets, 3,000,000 visits

Prints `coverage_report: <ratio> (target <= 2) ...`: the time of the whole coverage report
of the county (coverage by kind, every team and group, each with its milestone status, with
two milestones already past) divided by the time of one hand-written GROUP BY giving the
coverage per group as of one day.
"""
from __future__ import annotations

import argparse
import random
import sqlite3
import sys
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import bench_app, county, report, timed  # noqa: E402
from casetrack.extensions import db  # noqa: E402
from casetrack.models import TARGET_KINDS, Milestone, Unit  # noqa: E402

BASELINE = """
SELECT t.group_id, COUNT(*),
       SUM(EXISTS (SELECT 1 FROM visits v WHERE v.target_id = t.id AND v.visited_on <= ?))
FROM targets t WHERE t.active = 1 GROUP BY t.group_id
"""


def fill(path: Path, group_ids: list[int], targets: int, visits: int, start: date) -> None:
    """Targets spread over the groups; visits on random days to random targets (some twice)."""
    rng = random.Random(4)
    con = sqlite3.connect(path)
    con.execute("PRAGMA synchronous=OFF")
    now = "2026-06-01 00:00:00"
    con.executemany(
        "INSERT INTO targets (id, code, kind, name, address, village, group_id, active, created_at,"
        " updated_at) VALUES (?, NULL, ?, ?, '', '', ?, 1, ?, ?)",
        ((i, rng.choice(TARGET_KINDS), f"户{i}", group_ids[i % len(group_ids)], now, now)
         for i in range(1, targets + 1)))
    con.executemany(
        "INSERT INTO visits (target_id, group_id, visited_on, notes, suggestions, created_at)"
        " VALUES (?, ?, ?, '', 0, ?)",
        ((t, group_ids[t % len(group_ids)], (start + timedelta(days=rng.randint(0, 90))).isoformat(), now)
         for t in (rng.randint(1, targets) for _ in range(visits))))
    con.commit()
    con.execute("ANALYZE")
    con.close()


def both(unit, as_of):
    """What the coverage page shows: the county's figures and its teams' and groups' rows."""
    from casetrack.services.coverage import breakdown, coverage, report
    rep = report(unit, as_of)
    return coverage(unit, as_of, rep), breakdown(unit, as_of, rep)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="1,000,000 targets, 3,000,000 visits")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    targets, visits = (1_000_000, 3_000_000) if args.full else (20_000, 60_000)
    start, as_of = date(2026, 5, 1), date(2026, 7, 10)
    with bench_app("coverage") as (app, path):
        officer, groups = county()
        for day, percent in [(date(2026, 5, 1), 0), (date(2026, 6, 30), 70), (date(2026, 7, 31), 100)]:
            db.session.add(Milestone(unit=officer.unit, due_on=day, target_percent=percent))
        group_ids, unit_id = [g.id for g in groups], officer.unit_id
        db.session.commit()
        db.session.close()
        fill(path, group_ids, targets, visits, start)

        con = sqlite3.connect(path)
        unit = db.session.get(Unit, unit_id)
        best_ours = best_base = float("inf")
        for _ in range(args.repeat):
            t_base, rows = timed(lambda: con.execute(BASELINE, (as_of.isoformat(),)).fetchall())
            best_base = min(best_base, t_base)
            t_ours, (figures, table) = timed(lambda: both(unit, as_of))
            best_ours = min(best_ours, t_ours)
            db.session.rollback()
        assert figures["visited"] == sum(r[2] for r in rows), "the report disagrees with the baseline"
        con.close()
        ok = report("coverage_report", best_ours, best_base, 2,
                    f"targets={targets} visits={visits} rate={figures['rate']:.3f} rows={len(table)}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
