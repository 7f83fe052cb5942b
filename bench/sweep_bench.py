"""Benchmark: the deadline sweep over many open cases, against one plain UPDATE of the due rows.

    .venv/bin/python bench/sweep_bench.py --cases 1000000

Builds an SQLite database with N open cases (most due for an overdue flag, some for a
pre-warning, --escalate of them for auto-escalation), copies it, and times on the two copies:
the baseline (one UPDATE setting overdue_for on every overdue row) and `sweep_deadlines()`
(flags, events, notices, escalations through the workflow). Prints one JSON line with the ratio.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, select, text  # noqa: E402

from casetrack import create_app  # noqa: E402
from casetrack.extensions import db  # noqa: E402
from casetrack.models import Case, Category, Unit  # noqa: E402
from casetrack.services import calendar, org  # noqa: E402
from casetrack.services.sweep import sweep_deadlines  # noqa: E402

NOW = datetime(2026, 6, 10, 2, tzinfo=timezone.utc)  # Wednesday 10:00 in Shanghai
TODAY = date(2026, 6, 10)


def app_for(path: Path):
    return create_app({"DATABASE_URL": f"sqlite:///{path}", "SECRET_KEY": "bench",
                       "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"timeout": 15}}})


def build(path: Path, cases: int, escalate: int) -> None:
    app = app_for(path)
    with app.app_context():
        db.create_all()
        org.ensure_categories()
        org.create_unit("C", "县活动办", "county")
        org.create_unit("T1", "工作队", "team", "C")
        groups = [org.create_unit(f"G{i}", f"工作组{i}", "group", "T1") for i in range(20)]
        db.session.commit()
        county = db.session.scalars(select(Unit).where(Unit.code == "C")).one()
        category = db.session.scalars(select(Category.id)).first()
        rows = []
        for i in range(cases):
            group = groups[i % len(groups)]
            if i < escalate:   # with the group, 3 working days late: escalated by the sweep
                state, unit, deadline, warn = "group", group.id, date(2026, 6, 5), date(2026, 6, 4)
            elif i % 10 == 0:  # due tomorrow, pre-warning due today
                state, unit, deadline, warn = "county", county.id, date(2026, 6, 11), date(2026, 6, 10)
            else:              # overdue with the county office
                state, unit, deadline, warn = "county", county.id, date(2026, 6, 1), date(2026, 5, 29)
            rows.append({"title": f"问题{i}", "description": "", "category_id": category,
                         "kind": "individual",
                         "group_id": group.id, "unit_id": unit, "state": state, "deadline": deadline,
                         "warn_on": warn, "workflow": "campaign", "workflow_version": 1, "version": 1,
                         "created_at": NOW - timedelta(days=9), "updated_at": NOW - timedelta(days=9),
                         "resident_name": "", "resident_phone": "", "resident_address": ""})
            if len(rows) == 50_000:
                db.session.execute(insert(Case), rows)
                rows = []
        if rows:
            db.session.execute(insert(Case), rows)
        db.session.commit()
        db.engine.dispose()


def baseline(path: Path) -> float:
    app = app_for(path)
    with app.app_context():
        start = time.perf_counter()
        db.session.execute(text("UPDATE cases SET overdue_for = deadline "
                                "WHERE deadline < :today AND state NOT IN ('explained', 'closed')"),
                           {"today": TODAY})
        db.session.commit()
        took = time.perf_counter() - start
        db.engine.dispose()
    return took


def sweep(path: Path) -> tuple[float, dict]:
    app = app_for(path)
    with app.app_context(), calendar.at(NOW):
        start = time.perf_counter()
        done = sweep_deadlines()
        db.session.commit()
        took = time.perf_counter() - start
        db.engine.dispose()
    return took, done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--escalate", type=int, default=200, help="cases due for auto-escalation")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="casetrack-bench-"))
    try:
        built = time.perf_counter()
        build(folder / "a.db", args.cases, args.escalate)
        built = time.perf_counter() - built
        shutil.copy(folder / "a.db", folder / "b.db")
        base = baseline(folder / "a.db")
        took, done = sweep(folder / "b.db")
        print(json.dumps({"cases": args.cases, "build_s": round(built, 2), "baseline_s": round(base, 3),
                          "sweep_s": round(took, 2), "ratio": round(took / base, 1), **done}))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
