"""The deadline sweep over 1M open cases vs one UPDATE of the due rows, on copies of the same data.

The data: `generate` (cases in every state, each with its event history and hash chain), enough
cases for 1M (quick: 20k) to be open with a running clock; then their deadlines are set for the
day of the sweep, a Wednesday. Two mixes:

- `sweep`, a bad day: one open case in ten passed its deadline yesterday and is not flagged yet
  (all of a day's expiring deadlines at once, as after a long holiday or a day without cron),
  one in twenty is due for its pre-warning, one in five is already flagged overdue, 200 (quick:
  20) have been with their group long enough to be escalated, the rest are not due; yesterday's
  sweep has run, so the progress reports already late by then are flagged (since 2026-12-07:
  before, the first sweep of the generated data, which holds no progress report, flagged every
  case in a state that asks for one: 137k at 1M, more than the day's 171k deadline flags);
- `sweep_all_due`, the worst case: every open case is due (nine in ten newly overdue, the rest
  pre-warned), as on the first sweep over a backlog imported without flags.

The baseline is one UPDATE setting both flag columns of the due rows (the escalated cases
included, as overdue). The sweep runs as `flask sweep` does: `sweep_deadlines` committing after
each batch; it also writes one event per flag (hash-chained), counts the flags into one digest
notice per unit and kind (inserted by the first batch that needs it, counted up by later ones),
and fires the escalations through the workflow.
"""
from __future__ import annotations

import time
from datetime import date, datetime, timezone

from sqlalchemy import text

from bench.common import line, make_app, populated, sized
from casetrack.extensions import db
from casetrack.services.workdays import calendar
from casetrack.services.casework.cases import default_workflow
from casetrack.services.casework.notices import Digests
from casetrack.services.deadlines.sweep import flag_late_reports, sweep_deadlines

NOW = datetime(2026, 6, 10, 2, tzinfo=timezone.utc)  # Wednesday 10:00 in Shanghai
YESTERDAYS_RUN = datetime(2026, 6, 9, 2, tzinfo=timezone.utc)
DAY, YESTERDAY, FRIDAY = date(2026, 6, 10), date(2026, 6, 9), date(2026, 6, 12)
DUE = """(deadline < :day AND (overdue_for IS NULL OR overdue_for <> deadline))
         OR (warn_on <= :day AND deadline >= :day AND (warned_for IS NULL OR warned_for <> deadline))"""
OPEN_SHARE = 0.7  # of generated cases, about this share is open with a running clock


def _running() -> str:
    wf = default_workflow()
    return ", ".join(f"'{s.name}'" for s in wf.states.values() if s.deadline_days and not s.pauses_clock)


def _set_deadlines(worst: bool, escalate: int) -> int:
    """Give the open cases the deadlines of the mix; returns how many cases are open."""
    running = _running()
    sql = [  # (share of ids by id % 100, deadline, warn_on, already flagged overdue)
        ("1 = 1", date(2026, 6, 19), date(2026, 6, 17), False),  # not due
        ("id % 100 < 90" if worst else "id % 100 < 10", YESTERDAY, date(2026, 6, 5), False),
        ("id % 100 >= 90" if worst else "id % 100 BETWEEN 10 AND 14", FRIDAY, DAY, False),
        ("1 = 0" if worst else "id % 100 BETWEEN 15 AND 34", YESTERDAY, date(2026, 6, 5), True),
    ]
    for where, deadline, warn_on, flagged in sql:
        db.session.execute(text(f"UPDATE cases SET deadline = :d, warn_on = :w, warned_for = NULL, "
                                f"overdue_for = {':d' if flagged else 'NULL'} "
                                f"WHERE state IN ({running}) AND ({where})"), {"d": deadline, "w": warn_on})
    db.session.execute(text("UPDATE cases SET deadline = :d, warn_on = :w WHERE id IN "
                            "(SELECT id FROM cases WHERE state = 'group' ORDER BY id LIMIT :n)"),
                       {"d": date(2026, 6, 1), "w": date(2026, 5, 28), "n": escalate})
    n = db.session.scalar(text(f"SELECT count(*) FROM cases WHERE state IN ({running})"))
    db.session.commit()
    db.session.execute(text("ANALYZE"))
    db.session.commit()
    return n


def _checkpointed(start: float) -> float | None:
    """SQLite: seconds from `start` until the WAL is written back (a TRUNCATE checkpoint, outside
    any transaction). The sweep's commits checkpoint now and then inside its time (db/writer_lock.py,
    every CHECKPOINT_EVERY write transactions) while the baseline's one commit leaves its whole
    WAL behind; timing both up to a checkpoint compares the same work. None on PostgreSQL."""
    if db.engine.dialect.name != "sqlite":
        return None
    with db.engine.connect() as conn:
        conn.connection.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    return time.perf_counter() - start


def _baseline(url: str) -> tuple[float, float | None, int]:
    with make_app(url).app_context():
        start = time.perf_counter()
        n = db.session.execute(text(
            f"UPDATE cases SET overdue_for = CASE WHEN deadline < :day THEN deadline ELSE overdue_for END, "
            f"warned_for = CASE WHEN deadline >= :day THEN deadline ELSE warned_for END "
            f"WHERE state IN ({_running()}) AND deadline IS NOT NULL AND ({DUE})"), {"day": DAY}).rowcount
        db.session.commit()
        took = time.perf_counter() - start
        flushed = _checkpointed(start)
        db.engine.dispose()
    return took, flushed, n


def _sweep(url: str) -> tuple[float, float | None, dict]:
    with make_app(url).app_context(), calendar.at(NOW):
        start = time.perf_counter()
        done = sweep_deadlines(after_batch=db.session.commit)  # as `flask sweep` does
        db.session.commit()
        took = time.perf_counter() - start
        flushed = _checkpointed(start)
        done["digests"] = db.session.scalar(text("SELECT count(*) FROM notifications WHERE count IS NOT NULL"))
        db.engine.dispose()
    return took, flushed, done


def _one(databases, name: str, quick: bool, worst: bool) -> bool:
    wanted = 20_000 if quick else sized(1_000_000)
    escalate = 20 if quick else 200
    start = time.perf_counter()
    # one data set for both mixes, generated as of NOW; each mix changes a copy of it
    url = databases.data(cases=round(wanted / OPEN_SHARE), at=NOW, copy=True)
    if not worst:
        with calendar.at(YESTERDAYS_RUN), populated(url):
            flag_late_reports(Digests(YESTERDAYS_RUN))
            db.session.commit()
    with calendar.at(NOW), populated(url):
        open_cases = _set_deadlines(worst, escalate)
    built = time.perf_counter() - start
    base = databases.copy(url)
    t_base, f_base, due = _baseline(base)
    t_sweep, f_sweep, done = _sweep(url)
    digests = done.pop("digests")
    # progress reports owed (`report_every`) are flagged by the same sweep; the UPDATE does not
    # flag them, so they are shown, not counted among the due rows
    late = done.pop("report_late", 0)
    databases.drop(base)
    databases.drop(url)
    assert done["escalated"] == escalate and sum(done.values()) == due, (done, due)
    checkpointed = (f"; until checkpointed {f_sweep / f_base:.2f} (sweep {f_sweep:.2f} s, UPDATE {f_base:.2f} s)"
                    if f_base is not None else "")
    return line(name, t_sweep / t_base, "<=", 3,
                f"sweep {t_sweep:.2f} s ({done['overdue']} overdue, {done['warned']} pre-warned, "
                f"{done['escalated']} escalated, {late} progress reports flagged late; {digests} digest notices), "
                f"one UPDATE of the {due} due rows {t_base:.2f} s; "
                f"{open_cases} open cases (built in {built:.0f} s){checkpointed}")


def run(databases, quick: bool) -> bool:
    return _one(databases, "sweep", quick, worst=False)


def run_all_due(databases, quick: bool) -> bool:
    return _one(databases, "sweep_all_due", quick, worst=True)
