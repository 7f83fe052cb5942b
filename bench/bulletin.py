"""The county's bulletin of one week vs the plain GROUP BY queries it needs, same run.

Data: the generator (services/generate.py; bulk inserts, then the daily figures rebuilt):
1,000,000 cases (about 2.4M events; province: 5,000,000) and 3,000,000 visits of 600,000 targets
over the 120 days before NOW (20,000 / 60,000 / 12,000 with --quick), generated once per run
for this benchmark and coverage.py. The period is the last whole week (Monday to Sunday) before NOW.
Prints `bulletin: <ratio> (target <= 2) ...`: the time of `services.bulletin.bulletin` (every
figure, every rate, the rankings of teams and groups, the overdue list, coverage and its line)
over the time of the same aggregates written by hand as SQL through the driver (sqlite3 or
psycopg); and `bulletin_page`: the seconds of the standalone HTML page (bulletin + render).
"""
from __future__ import annotations

import re
import time
from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from bench.common import line, populated, sized
from casetrack.extensions import db
from casetrack.models import Unit

NOW = datetime(2026, 7, 10, 2, tzinfo=timezone.utc)  # Friday 10:00 in Shanghai: when the data are made and read


def data_set(databases, quick: bool, copy: bool = False,
             sizes: tuple[int, int, int] | None = None) -> tuple[str, tuple[int, int, int]]:
    """The database of the bulletin's (and coverage's) data set, and its (cases, visits, targets)."""
    cases, visits, targets = sizes or ((20_000, 60_000, 12_000) if quick else (sized(1_000_000), 3_000_000, 600_000))
    return databases.data(cases=cases, targets=targets, visits=visits, seed=5, at=NOW, copy=copy), \
        (cases, visits, targets)


PERIOD_FIGURES = ("visits", "suggestions", "cadre", "found", "first_act", "money", "resolutions", "solved",
                  "explained", "callback", "closed", "on_time")


def baseline_queries(wf, sqlite: bool) -> list[str]:
    """The bulletin's aggregates by hand, with :d0 :d1 (days) and :end (UTC timestamp)."""
    quoted = lambda names: ", ".join(f"'{n}'" for n in names)  # noqa: E731
    open_states = [s for s in wf.states if not wf.states[s].final]
    paused = quoted(s.name for s in wf.states.values() if s.pauses_clock) or "''"
    hint = " INDEXED BY ix_cases_state_deadline" if sqlite else ""
    member_hint = " INDEXED BY ix_cases_parent_id" if sqlite else ""
    visits_hint = " INDEXED BY ix_visits_day_group_target" if sqlite else ""
    overdue = f"""c.state IN ({quoted(open_states)}) AND c.deadline < :d1 AND c.created_at < :end
        AND c.state NOT IN ({paused}) AND c.parent_id IS NULL
        AND NOT EXISTS (SELECT 1 FROM extensions x WHERE x.case_id = c.id AND x.status = 'pending'
                        AND x.state = c.state AND x.unit_id = c.unit_id)
        AND NOT EXISTS (SELECT 1 FROM cases m{member_hint} WHERE m.parent_id = c.id)"""
    return [
        f"""SELECT group_id, figure, detail, SUM(n), SUM(funds), SUM(donations) FROM daily_figures
            WHERE figure IN ({quoted(PERIOD_FIGURES)}) AND day >= :d0 AND day <= :d1
            GROUP BY group_id, figure, detail""",
        """SELECT group_id, figure, detail, SUM(n) FROM daily_figures
           WHERE figure IN ('filed', 'closed') AND day <= :d1 GROUP BY group_id, figure, detail""",
        """SELECT group_id, figure, detail, SUM(n) FROM daily_figures
           WHERE figure = 'open_deadline' AND day < :d1 GROUP BY group_id, figure, detail""",
        f"""SELECT v.group_id, t.kind, COUNT(DISTINCT v.target_id) FROM visits v{visits_hint} JOIN targets t ON t.id = v.target_id
           WHERE v.visited_on >= :d0 AND v.visited_on <= :d1 GROUP BY v.group_id, t.kind""",
        "SELECT group_id, kind, COUNT(*) FROM targets WHERE active GROUP BY group_id, kind",
        """SELECT group_id, detail, SUM(CASE WHEN day <= :d1 THEN n ELSE 0 END) FROM daily_figures
           WHERE figure = 'first_visit' AND day <= :d1 GROUP BY group_id, detail""",
        "SELECT day, SUM(n) FROM daily_figures WHERE figure = 'first_visit' GROUP BY day ORDER BY day",
        *[f"""SELECT c.id, c.title, c.state, c.deadline, u.code, u.name FROM cases c{hint}
              JOIN units u ON u.id = c.unit_id WHERE {overdue} AND c.state = '{state}'
              ORDER BY c.deadline, c.id LIMIT 500""" for state in open_states],
    ]


def best(fn, repeat: int) -> tuple[float, object]:
    out, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        out = min(out, time.perf_counter() - start)
    return out, result


def run(databases, quick: bool, sizes: tuple[int, int, int] | None = None) -> bool:
    """`sizes`: (cases, visits, targets) instead of the quick or full size."""
    from casetrack.services import bulletin as bl
    from casetrack.services import calendar
    from casetrack.services.calendar import today
    from casetrack.services.cases import default_workflow
    from casetrack.web.reports import page

    url, (cases, visits, targets) = data_set(databases, quick, sizes=sizes)
    with calendar.at(NOW), populated(url) as app:
        sqlite = db.engine.dialect.name == "sqlite"
        sunday = today() - timedelta(days=today().weekday() + 1)
        period = (sunday - timedelta(days=6), sunday)
        end = bl.start_of(period[1] + timedelta(days=1)).astimezone(timezone.utc)
        params = {"d0": period[0].isoformat(), "d1": period[1].isoformat(),
                  "end": end.strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else end}
        queries = baseline_queries(default_workflow(), sqlite)
        if not sqlite:
            queries = [re.sub(r":(d0|d1|end)\b", r"%(\1)s", q) for q in queries]
        raw = db.engine.raw_connection()
        cursor = raw.cursor()

        def baseline():
            for sql in queries:
                cursor.execute(sql, params)
                cursor.fetchall()

        unit = db.session.scalars(select(Unit).where(Unit.kind == "county").order_by(Unit.id)).first()

        def ours():
            figures = bl.bulletin(unit, *period)
            db.session.rollback()
            return figures

        def rendered():
            with app.test_request_context():
                html = page(bl.bulletin(unit, *period), unit, standalone=True)
            db.session.rollback()
            return html

        repeat = 5
        ours(), baseline()                     # warm the caches of both alike
        t_base, _r = best(baseline, repeat)
        t_ours, figures = best(ours, repeat)
        t_page, _html = best(rendered, repeat)
        for sql in queries:                     # where the time goes
            seconds, _r = best(lambda sql=sql: cursor.execute(sql, params).fetchall(), 1)
            print(f"  {seconds:7.3f}s  {' '.join(sql.split())[:110]}")
        raw.close()
        p = figures["problems"]
        size = f"{cases:,} cases, {visits:,} visits, {targets:,} targets; week {period[0]}..{period[1]}"
        ok = line("bulletin", t_ours / t_base, "<=", 2,
                  f"ours={t_ours:.3f}s baseline={t_base:.3f}s page={t_page:.3f}s (target < 1s) "
                  f"visits={figures['visits']['total']} found={p['found']} solved={p['solved']} "
                  f"explained={p['explained']} closure={figures['rates']['closure']} "
                  f"on_time={figures['rates']['on_time_closure']}; {size}")
        return line("bulletin_page", t_page, "<=", 1, "s, the county's bulletin of a week as the standalone "
                    "HTML page (every figure, rankings, overdue list, charts)") and ok
