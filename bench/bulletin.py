"""The county's bulletin of one week vs the plain GROUP BY queries it needs, same run.

Data: the generator (services/dataset/generate.py; bulk inserts, then the daily figures rebuilt):
1,000,000 cases (about 2.4M events; province: 5,000,000) and 3,000,000 visits of 600,000 targets
over the 120 days before NOW (20,000 / 60,000 / 12,000 with --quick), generated once per run
for this benchmark and coverage.py. The period is the last whole week (Monday to Sunday) before NOW.
Prints `bulletin: <ratio> (target <= 2) ...`: the time of `services.reports.bulletin.bulletin` (every
figure, every rate, the rankings of teams and groups, the overdue list, coverage and its line)
over the time of the same aggregates written by hand as SQL through the driver (sqlite3 or
psycopg); and `bulletin_page`: the seconds of the standalone HTML page (bulletin + render).
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import select

from bench.common import SHARED, best, line, populated, sized
from casetrack.extensions import db
from casetrack.models import Unit

NOW = datetime(2026, 7, 10, 2, tzinfo=timezone.utc)  # Friday 10:00 in Shanghai: when the data are made and read


def data_set(databases, quick: bool, copy: bool = False,
             sizes: tuple[int, int, int] | None = None) -> tuple[str, tuple[int, int, int]]:
    """The database of the bulletin's (and coverage's) data set, and its (cases, visits, targets)."""
    cases, visits, targets = sizes or ((20_000, 60_000, 12_000) if quick else (sized(1_000_000), SHARED["visits"], SHARED["targets"]))
    return databases.data(cases=cases, targets=targets, visits=visits, seed=SHARED["seed"], at=NOW, copy=copy), \
        (cases, visits, targets)


PERIOD_FIGURES = ("visits", "suggestions", "cadre", "found", "first_act", "money", "resolutions", "solved",
                  "resolved", "explained", "callback", "closed", "on_time", "answered", "told")
# The county's units that figures are kept under: its groups, and itself and its teams (a shared
# problem's money), as the bulletin's own scope.
SCOPE = "(SELECT id FROM units WHERE path LIKE :prefix AND kind IN ('county', 'team', 'group'))"


def baseline_queries(wf, sqlite: bool) -> dict[str, str]:
    """The bulletin's aggregates by hand for the county whose path is :prefix (with a trailing
    %), with :d0 :d1 (days), :end (UTC timestamp) and :c0 (the campaign's first day: `began`,
    run first)."""
    quoted = lambda names: ", ".join(f"'{n}'" for n in names)  # noqa: E731
    open_states = [s for s in wf.states if not wf.states[s].final]
    paused = quoted(s.name for s in wf.states.values() if s.pauses_clock) or "''"
    hint = " INDEXED BY ix_cases_state_deadline" if sqlite else ""
    member_hint = " INDEXED BY ix_cases_parent_id" if sqlite else ""
    visits_hint = " INDEXED BY ix_visits_day_group_target" if sqlite else ""
    overdue = f"""c.state IN ({quoted(open_states)}) AND c.deadline < :d1 AND c.created_at < :end
        AND c.state NOT IN ({paused}) AND c.parent_id IS NULL AND c.workflow = '{wf.name}'
        AND c.group_id IN {SCOPE}
        AND NOT EXISTS (SELECT 1 FROM extensions x WHERE x.case_id = c.id AND x.status = 'pending'
                        AND x.state = c.state AND x.unit_id = c.unit_id)
        AND NOT EXISTS (SELECT 1 FROM cases m{member_hint} WHERE m.parent_id = c.id)"""

    def figures(start: str, group: str, more: tuple[str, ...] = ()) -> str:   # group: "group_id, " or "" (the total)
        return f"""SELECT {group or "0, "}figure, detail, SUM(n), SUM(funds), SUM(donations) FROM daily_figures
            WHERE figure IN ({quoted(PERIOD_FIGURES + more)}) AND day >= :{start} AND day <= :d1
            AND group_id IN {SCOPE} GROUP BY {group}figure, detail"""

    return {
        "began": "SELECT MIN(d) FROM (" + " UNION ALL ".join(   # each unit's first key of each figure
            f"SELECT (SELECT MIN(day) FROM daily_figures WHERE figure = '{f}' AND group_id = u.id) AS d FROM units u"
            for f in ("visits", "found", "filed")) + ") firsts",
        "period": figures("d0", "group_id, "),
        "reached": f"""SELECT 0, t.kind, COUNT(DISTINCT t.id) FROM targets t JOIN (
           SELECT target_id FROM visits{visits_hint} WHERE visited_on >= :d0 AND visited_on <= :d1
             AND group_id IN {SCOPE}
           UNION ALL SELECT vt.target_id FROM visit_targets vt JOIN visits v ON v.id = vt.visit_id
           WHERE v.visited_on >= :d0 AND v.visited_on <= :d1 AND v.group_id IN {SCOPE}) r ON r.target_id = t.id
           WHERE t.group_id IN {SCOPE} GROUP BY t.kind""",
        "open": f"""SELECT group_id, figure, detail, SUM(n) FROM daily_figures
           WHERE figure IN ('filed', 'closed') AND day <= :d1 AND group_id IN {SCOPE}
           GROUP BY group_id, figure, detail""",
        "overdue_count": f"""SELECT group_id, figure, detail, SUM(n) FROM daily_figures
           WHERE figure = 'open_deadline' AND day < :d1 AND group_id IN {SCOPE} GROUP BY group_id, figure, detail""",
        "targets_visited": f"""SELECT v.group_id, t.kind, COUNT(DISTINCT v.target_id) FROM visits v{visits_hint}
           JOIN targets t ON t.id = v.target_id
           WHERE v.visited_on >= :d0 AND v.visited_on <= :d1 AND v.group_id IN {SCOPE} GROUP BY v.group_id, t.kind""",
        # since the campaign began: the county's sums from its first day
        # (and the targets first visited and first reached since then)
        "since:period": figures("c0", "", ("first_own_visit", "first_reach")),
        "assigned": f"""SELECT group_id, kind, COUNT(*) FROM targets WHERE active AND group_id IN {SCOPE}
           GROUP BY group_id, kind""",
        "first_visits": f"""SELECT group_id, detail, SUM(n) FROM daily_figures
           WHERE figure = 'first_visit' AND day <= :d1 AND group_id IN {SCOPE} GROUP BY group_id, detail""",
        "series": f"""SELECT day, SUM(n) FROM daily_figures WHERE figure = 'first_visit' AND group_id IN {SCOPE}
           GROUP BY day ORDER BY day""",
        **{f"overdue:{state}": f"""SELECT c.id, c.title, c.state, c.deadline, u.code, u.name FROM cases c{hint}
              JOIN units u ON u.id = c.unit_id WHERE {overdue} AND c.state = '{state}'
              ORDER BY c.deadline, c.id LIMIT 500""" for state in open_states},
    }


def _rate(n: int, d: int) -> float | None:
    return round(n / d, 4) if d else None


def summed(rows: list[tuple], targets: list[tuple], reached: list[tuple], kinds) -> tuple[dict, Any]:
    """The additive figures of a range from the rows of `figures` and those (group, kind, n) of
    the targets visited and reached, and the sums by (figure, detail) with a figure's total."""
    sums: dict[tuple[str, str], int] = {}
    money = [0, 0]
    for _g, figure, detail, n, funds, donations in rows:
        sums[figure, detail] = sums.get((figure, detail), 0) + int(n or 0)
        if figure == "money":
            money = [money[0] + int(funds or 0), money[1] + int(donations or 0)]
    total = lambda figure: sum(n for (f, _d), n in sums.items() if f == figure)  # noqa: E731
    return {
        "visits": total("visits"), "cadre_visits": total("cadre"), "suggestions": total("suggestions"),
        "visits_by_kind": {k: sums.get(("visits", k), 0) for k in kinds},
        "targets_by_kind": {k: sum(int(n) for _g, kind, n in targets if kind == k) for k in kinds},
        "reached_by_kind": {k: sum(int(n) for _g, kind, n in reached if kind == k) for k in kinds},
        **{k: total(k) for k in ("found", "resolved", "solved", "explained", "closed")},
        "funds": money[0] / 100, "donations": money[1] / 100,
    }, (sums, total)


def baseline_answers(rows: dict[str, list[tuple]]) -> dict:
    """The figures the baseline's rows give, in the bulletin's words, to hold ours to."""
    kinds = {kind for _g, kind, _n in rows["assigned"]}
    period, (sums, total) = summed(rows["period"], rows["targets_visited"], rows["reached"], kinds)
    filed_closed = {"filed": 0, "closed": 0}
    for _g, figure, _d, n in rows["open"]:
        filed_closed[figure] += int(n)
    closed, open_end = total("closed"), filed_closed["filed"] - filed_closed["closed"]
    open_overdue = sum(int(r[3]) for r in rows["overdue_count"])
    assigned, seen, series = sum(int(n) for _g, _k, n in rows["assigned"]), 0, []
    for day, n in rows["series"]:
        seen += int(n)
        if int(n) and str(day) <= str(rows["period_end"]):
            series.append([str(day), round(seen / assigned, 4) if assigned else 0])
    overdue = sorted((r for state, found in rows.items() if state.startswith("overdue:") for r in found),
                     key=lambda r: (str(r[3]), r[0]))[:500]
    return {
        **period, "open_at_end": open_end, "open_overdue": open_overdue,
        "closure": _rate(closed, closed + open_end),
        "on_time_closure": _rate(total("on_time"), closed + open_overdue),
        "satisfaction": _rate(sums.get(("callback", "satisfied"), 0), total("callback")),
        "rework": _rate(sums.get(("callback", "reworked"), 0), total("resolutions")),
        "feedback": _rate(total("told"), total("answered")),
        "assigned": assigned, "visited": sum(int(n) for _g, _k, n in rows["first_visits"]), "series": series,
        "overdue": sorted(r[0] for r in overdue),
        "since": summed(rows["since:period"], *([(0, r[2], r[3]) for r in rows["since:period"] if r[1] == first]
                                                for first in ("first_own_visit", "first_reach")), kinds)[0],
    }


def our_sums(figures: dict, kinds) -> dict:
    """The additive figures of a range read from the bulletin's answer (or its cumulative part)."""
    v, p = figures["visits"], figures["problems"]
    return {
        "visits": v["total"], "cadre_visits": v["cadre_visits"], "suggestions": figures["suggestions"],
        "visits_by_kind": {k: v["by_kind"].get(k, 0) for k in kinds},
        "targets_by_kind": {k: v["targets_by_kind"].get(k, 0) for k in kinds},
        "reached_by_kind": {k: figures["reached"]["by_kind"].get(k, 0) for k in kinds},
        **{k: p[k] for k in ("found", "resolved", "solved", "explained", "closed")},
        "funds": figures["funds"], "donations": figures["donations"],
    }


def our_answers(figures: dict, kinds) -> dict:
    """The same figures read from the bulletin's answer."""
    p, r = figures["problems"], figures["rates"]
    return {
        **our_sums(figures, kinds), "open_at_end": p["open_at_end"], "open_overdue": p["open_overdue"],
        **{k: r[k] for k in ("closure", "on_time_closure", "satisfaction", "rework", "feedback")},
        "assigned": figures["coverage"]["assigned"], "visited": figures["coverage"]["visited"],
        "series": figures["coverage"]["series"], "overdue": sorted(c["id"] for c in figures["overdue"]),
        "since": our_sums(figures["cumulative"], kinds),
    }


def run(databases, quick: bool, sizes: tuple[int, int, int] | None = None) -> bool:
    """`sizes`: (cases, visits, targets) instead of the quick or full size."""
    from casetrack.services.reports import bulletin as bl
    from casetrack.services.workdays import calendar
    from casetrack.services.workdays.calendar import today
    from casetrack.services.casework.cases import default_workflow
    from casetrack.web.reports import page

    url, (cases, visits, targets) = data_set(databases, quick, sizes=sizes)
    with calendar.at(NOW), populated(url) as app:
        sqlite = db.engine.dialect.name == "sqlite"
        sunday = today() - timedelta(days=today().weekday() + 1)
        period = (sunday - timedelta(days=6), sunday)
        end = bl.start_of(period[1] + timedelta(days=1)).astimezone(timezone.utc)
        unit = db.session.scalars(select(Unit).where(Unit.kind == "county").order_by(Unit.id)).first()
        params = {"d0": period[0].isoformat(), "d1": period[1].isoformat(), "prefix": f"{unit.path}%",
                  "end": end.strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else end}
        queries = baseline_queries(default_workflow(), sqlite)
        if not sqlite:
            queries = {k: re.sub(r":(d0|d1|c0|end|prefix)\b", r"%(\1)s", q) for k, q in queries.items()}
        raw = db.engine.raw_connection()
        cursor = raw.cursor()

        def baseline():
            out = {}
            for name, sql in queries.items():
                cursor.execute(sql, params)
                out[name] = cursor.fetchall()
                if name == "began":   # the campaign's first day, for the figures since (no CAMPAIGN_START)
                    began = out[name][0][0]
                    params["c0"] = min(str(began)[:10], params["d1"]) if began is not None else params["d1"]
            return out

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
        t_base, rows = best(baseline, repeat)
        t_ours, figures = best(ours, repeat)
        t_page, _html = best(rendered, repeat)
        theirs = baseline_answers({**rows, "period_end": period[1].isoformat()})
        mine = our_answers(figures, theirs["visits_by_kind"])
        differ = {k: (mine[k], theirs[k]) for k in theirs if mine[k] != theirs[k]}
        assert not differ, f"the bulletin disagrees with the baseline (ours, baseline): {differ}"
        for sql in queries.values():            # where the time goes
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
