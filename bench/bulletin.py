"""The bulletin of one week for the county, against the plain GROUP BY queries it needs, same run.

    python bench/bulletin.py            # 1,000,000 cases (about 2.6M events), 3,000,000 visits
    python bench/bulletin.py --quick    # 20,000 cases, 60,000 visits

Data: bulk inserts through sqlite3 (11 teams, 144 groups, 7 cadres a group, 600k targets; cases
filed over five months and handled the ways the workflow allows: still open, explained, resolved
by the group, the team, or referred to a department, some reopened by a dissatisfied call-back;
every 1000th case a shared problem linking the next three).
Prints `bulletin: <ratio> (target <= 2) ...`: the time of `services.bulletin.bulletin` (every
figure, every rate, the rankings of teams and groups, the overdue list, coverage) over the time
of the same aggregates written by hand as SQL through sqlite3; and the time of the HTML page.
"""
from __future__ import annotations

import argparse
import json
import random
import sqlite3
import sys
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parent.parent)  # the repository, not bench/ (bench/http.py)

from bench._common import bench_app, county, report, timed  # noqa: E402
from casetrack.extensions import db  # noqa: E402
from casetrack.models import TARGET_KINDS, Category, Milestone, Unit  # noqa: E402

START = date(2026, 3, 2)
PERIOD = (date(2026, 6, 1), date(2026, 6, 7))
TODAY = datetime(2026, 6, 8, 2, 0, tzinfo=timezone.utc)
DAY = "+8 hours"

# The aggregates of the bulletin, by hand: (sql, parameters) with :start/:end (UTC text), :d0/:d1 days.
BASELINE = [
    """SELECT v.group_id, t.kind, COUNT(*), COUNT(DISTINCT v.target_id), SUM(v.suggestions)
       FROM visits v JOIN targets t ON t.id = v.target_id
       WHERE v.visited_on BETWEEN :d0 AND :d1 GROUP BY v.group_id, t.kind""",
    """SELECT v.group_id, u.role, COUNT(*) FROM visits v JOIN visit_cadres vc ON vc.visit_id = v.id
       JOIN users u ON u.id = vc.user_id WHERE v.visited_on BETWEEN :d0 AND :d1 GROUP BY v.group_id, u.role""",
    """SELECT group_id, category_id, COUNT(*) FROM cases c WHERE created_at >= :start AND created_at < :end
       AND NOT EXISTS (SELECT 1 FROM cases m WHERE m.parent_id = c.id) GROUP BY group_id, category_id""",
    """SELECT c.group_id, e.from_state, e.to_state,
              CASE WHEN e.actor_id IS NULL AND pu.kind IS NOT NULL THEN pu.kind ELSE fu.kind END,
              EXISTS (SELECT 1 FROM cases m WHERE m.parent_id = c.id), COUNT(*),
              SUM(NOT EXISTS (SELECT 1 FROM case_events x WHERE x.case_id = e.case_id
                              AND x.to_state = e.to_state AND x.id < e.id)),
              SUM(CAST(json_extract(e.data, '$.funds') AS REAL)),
              SUM(CAST(json_extract(e.data, '$.donations') AS REAL))
       FROM case_events e JOIN cases c ON c.id = e.case_id JOIN units fu ON fu.id = e.from_unit_id
       LEFT JOIN cases pc ON pc.id = c.parent_id LEFT JOIN units pu ON pu.id = pc.resolved_unit_id
       WHERE e.at >= :start AND e.at < :end AND e.from_state IS NOT NULL AND e.from_state <> e.to_state
       GROUP BY 1, 2, 3, 4, 5""",
    """SELECT group_id, COUNT(*) FROM cases c WHERE state <> 'closed' AND created_at < :end AND NOT EXISTS (SELECT 1 FROM cases m WHERE m.parent_id = c.id)
       GROUP BY group_id""",
    """SELECT c.group_id, COUNT(*) FROM cases c JOIN case_events e ON e.case_id = c.id
       WHERE e.to_state = 'closed' AND e.at >= :end AND c.created_at < :end AND NOT EXISTS (SELECT 1 FROM cases m WHERE m.parent_id = c.id) GROUP BY c.group_id""",
    """SELECT group_id, COUNT(*) FROM cases c WHERE state <> 'closed' AND deadline < :d1
       AND created_at < :end AND state <> 'explained' AND parent_id IS NULL
       AND NOT EXISTS (SELECT 1 FROM extensions x WHERE x.case_id = c.id AND x.status = 'pending'
                       AND x.state = c.state AND x.unit_id = c.unit_id)
       AND NOT EXISTS (SELECT 1 FROM cases m WHERE m.parent_id = c.id) GROUP BY group_id""",
    f"""SELECT c.group_id, c.kind, date(c.created_at, '{DAY}'),
              date((SELECT MIN(e.at) FROM case_events e WHERE e.case_id = c.id AND e.from_state IS NOT NULL
                    AND e.actor_id IS NOT NULL AND (e.from_state <> e.to_state OR e."trigger" = 'link')),
                   '{DAY}'), COUNT(*)
       FROM cases c WHERE c.created_at >= :start AND c.created_at < :end
       AND NOT EXISTS (SELECT 1 FROM cases m WHERE m.parent_id = c.id) GROUP BY 1, 2, 3, 4""",
    f"""SELECT c.group_id, r.from_state, date(p.at, '{DAY}'),
              COALESCE((SELECT MAX(x.new_deadline) FROM extensions x WHERE x.case_id = r.case_id
                        AND x.state = r.from_state AND x.status = 'approved' AND x.decided_at < r.at
                        AND x.requested_at >= p.at), json_extract(p.data, '$.due_date')),
              date(r.at, '{DAY}'), COUNT(*)
       FROM case_events k JOIN cases c ON c.id = k.case_id
       JOIN case_events r ON r.id = (SELECT MAX(e.id) FROM case_events e WHERE e.case_id = k.case_id
                                     AND e.to_state = 'resolved' AND e.id < k.id)
       JOIN case_events p ON p.id = (SELECT MAX(e.id) FROM case_events e WHERE e.case_id = r.case_id
                                     AND e.id < r.id)
       WHERE k.to_state = 'closed' AND k.at >= :start AND k.at < :end
       AND NOT EXISTS (SELECT 1 FROM cases m WHERE m.parent_id = c.id) GROUP BY 1, 2, 3, 4, 5""",
    """SELECT t.group_id, t.kind, COUNT(*),
              SUM(EXISTS (SELECT 1 FROM visits v WHERE v.target_id = t.id AND v.visited_on <= :d1))
       FROM targets t WHERE t.active = 1 GROUP BY t.group_id, t.kind""",
    """SELECT day, COUNT(*) FROM (SELECT MIN(v.visited_on) AS day FROM visits v JOIN targets t ON t.id = v.target_id
       WHERE t.active = 1 GROUP BY v.target_id) GROUP BY day ORDER BY day""",
    """SELECT c.id, c.title, c.state, c.deadline, u.code, u.name FROM cases c JOIN units u ON u.id = c.unit_id
       WHERE c.state <> 'closed' AND c.deadline < :d1 AND c.created_at < :end AND c.state <> 'explained'
       AND c.parent_id IS NULL AND NOT EXISTS (SELECT 1 FROM cases m WHERE m.parent_id = c.id)
       AND NOT EXISTS (SELECT 1 FROM extensions x WHERE x.case_id = c.id AND x.status = 'pending'
                       AND x.state = c.state AND x.unit_id = c.unit_id)
       ORDER BY u.code, c.deadline, c.id
       LIMIT 500""",
]


def stamp(day: date) -> str:
    return f"{day.isoformat()} 02:00:00.000000"  # 10:00 in Beijing, stored as naive UTC


def fill(path: Path, teams: dict[int, int], departments: list[int], categories: list[int],
         cases: int, visits: int, targets: int) -> None:
    rng = random.Random(5)
    groups = sorted(teams)
    con = sqlite3.connect(path)
    con.execute("PRAGMA synchronous=OFF")
    now = stamp(START)
    cadres: dict[int, list[int]] = {}
    rows = []
    uid = 1000
    for g in groups:
        for i in range(7):
            uid += 1
            rows.append((uid, f"u{uid}", f"干部{uid}", "x", "group_leader" if i == 0 else "group_member", g, now))
            cadres.setdefault(g, []).append(uid)
    con.executemany("INSERT INTO users (id, username, name, password_hash, role, unit_id, active,"
                    " session_version, created_at) VALUES (?, ?, ?, ?, ?, ?, 1, 1, ?)", rows)
    leaders = [r[0] for r in con.execute("SELECT id FROM users WHERE role IN ('team_leader', 'county_officer')")]
    con.executemany(
        "INSERT INTO targets (id, code, kind, name, address, village, group_id, active, created_at,"
        " updated_at) VALUES (?, NULL, ?, ?, '', '', ?, 1, ?, ?)",
        ((i, rng.choice(TARGET_KINDS), f"户{i}", groups[i % len(groups)], now, now)
         for i in range(1, targets + 1)))
    span = (PERIOD[1] - START).days

    def visit_rows():
        for i in range(1, visits + 1):
            t = rng.randint(1, targets)
            yield (i, t, groups[t % len(groups)], (START + timedelta(days=rng.randint(0, span))).isoformat(),
                   rng.choice((0, 0, 1, 2)), now)
    con.executemany("INSERT INTO visits (id, target_id, group_id, visited_on, notes, suggestions, created_at)"
                    " VALUES (?, ?, ?, ?, '', ?, ?)", visit_rows())

    def cadre_rows():
        for i in range(1, visits + 1):
            g = groups[(i * 7919) % len(groups)]
            yield i, rng.choice(cadres[g])
            if i % 50 == 0:
                yield i, rng.choice(leaders)
    con.executemany("INSERT OR IGNORE INTO visit_cadres (visit_id, user_id) VALUES (?, ?)", cadre_rows())

    events: list[tuple] = []
    case_rows: list[tuple] = []

    def ev(case_id, day, trigger, src, dest, src_unit, dest_unit, data=None):
        events.append((case_id, stamp(day), trigger, src, dest, src_unit, dest_unit,
                       json.dumps(data or {}, ensure_ascii=False)))

    def flush():
        con.executemany(
            "INSERT INTO cases (id, title, description, category_id, kind, resident_name, resident_phone,"
            " resident_address, group_id, unit_id, department_id, resolved_unit_id, state, deadline,"
            " workflow, workflow_version, version, created_at, updated_at)"
            " VALUES (?, ?, '', ?, ?, '', '', '', ?, ?, ?, ?, ?, ?, 'campaign', 1, 1, ?, ?)", case_rows)
        con.executemany(
            "INSERT INTO case_events (case_id, at, \"trigger\", from_state, to_state, from_unit_id, to_unit_id,"
            " data, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, '', '')", events)
        case_rows.clear()
        events.clear()

    for cid in range(1, cases + 1):
        g = groups[rng.randrange(len(groups))]
        team = teams[g]
        day = START + timedelta(days=rng.randint(0, span))
        money = {"resolution": "办结", "funds": f"{rng.randint(0, 500) / 100:.2f}"} if cid % 3 == 0 \
            else {"resolution": "办结"}
        kind = "shared" if cid % 10 == 0 else "individual"
        first, holder = ("team", team) if kind == "shared" else ("group", g)
        ev(cid, day, "file", None, first, None, holder, {"kind": kind})
        r = rng.random()
        d, state, unit, dept, resolver, deadline = day, first, holder, None, None, day + timedelta(days=7)
        if r < 0.12:
            pass                                                # still with its first holder
        elif r < 0.18:
            d += timedelta(days=rng.randint(1, 6))
            ev(cid, d, "explain", state, "explained", unit, unit, {"explanation": "暂不具备条件"})
            state, deadline = "explained", None
        else:
            if r > 0.6 and first == "group":                    # the team's turn
                d += timedelta(days=1)
                ev(cid, d, "escalate", "group", "team", g, team, {"reason": "上报"})
                state, unit = "team", team
            if r > 0.85:                                        # the county and a department
                d += timedelta(days=1)
                ev(cid, d, "escalate", state, "county", unit, departments[0], {"reason": "上报"})
                d += timedelta(days=1)
                dept = rng.choice(departments[1:])
                ev(cid, d, "refer", "county", "department", departments[0], dept,
                   {"department": "D", "due_date": (d + timedelta(days=15)).isoformat()})
                state, unit = "department", dept
            d += timedelta(days=rng.randint(1, 12))
            ev(cid, d, "resolve", state, "resolved", unit, departments[0], money)
            resolver = unit
            state, unit, deadline = "resolved", departments[0], d + timedelta(days=4)
            d += timedelta(days=rng.randint(1, 4))
            if cid % 20 == 0:                                   # dissatisfied: reopened, resolved again
                ev(cid, d, "verify", "resolved", "group", departments[0], resolver, {"satisfied": False})
                d += timedelta(days=2)
                ev(cid, d, "resolve", "group", "resolved", resolver, departments[0], {"resolution": "重办"})
                d += timedelta(days=1)
            if d <= PERIOD[1] + timedelta(days=20):
                ev(cid, d, "verify", "resolved", "closed", departments[0], departments[0], {"satisfied": True})
                state, deadline = "closed", None
        case_rows.append((cid, f"问题{cid}", rng.choice(categories), kind, g, unit, dept, resolver, state,
                          deadline.isoformat() if deadline else None, stamp(day), stamp(d)))
        if len(case_rows) >= 50_000:
            flush()
    flush()
    # Shared problems: every 1000th case is the parent of the three filed after it.
    con.execute("UPDATE cases SET parent_id = id - id % 1000 WHERE id % 1000 BETWEEN 1 AND 3 AND id > 1000")
    con.commit()
    con.execute("ANALYZE")
    con.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20,000 cases, 60,000 visits")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    cases, visits, targets = (20_000, 60_000, 12_000) if args.quick else (1_000_000, 3_000_000, 600_000)
    with bench_app("bulletin") as (app, path):
        from casetrack.services import bulletin as bl
        from casetrack.services import calendar
        from casetrack.services.org import create_unit
        from casetrack.web.reports import page

        officer, groups = county()
        departments = [officer.unit_id] + [create_unit(f"D{i}", f"部门{i}", "department", "C").id
                                           for i in range(5)]
        for day, percent in [(START, 0), (date(2026, 6, 30), 70), (date(2026, 7, 31), 100)]:
            db.session.add(Milestone(unit=officer.unit, due_on=day, target_percent=percent))
        teams = {g.id: g.parent_id for g in groups}
        categories = [c.id for c in db.session.query(Category)]
        unit_id = officer.unit_id
        db.session.commit()
        db.session.close()
        seconds, _r = timed(lambda: fill(path, teams, departments, categories, cases, visits, targets))
        print(f"generated {cases:,} cases, {visits:,} visits in {seconds:.0f}s")

        start, end = (bl.start_of(d).astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")
                      for d in (PERIOD[0], PERIOD[1] + timedelta(days=1)))
        params = {"start": start, "end": end, "d0": PERIOD[0].isoformat(), "d1": PERIOD[1].isoformat()}
        con = sqlite3.connect(path)
        best_ours = best_base = best_page = float("inf")
        with calendar.at(TODAY):
            unit = db.session.get(Unit, unit_id)
            for _ in range(args.repeat):
                base, _rows = timed(lambda: [con.execute(sql, params).fetchall() for sql in BASELINE])
                ours, figures = timed(lambda: bl.bulletin(unit, *PERIOD))
                with app.test_request_context():
                    rendered, html = timed(lambda: page(bl.bulletin(unit, *PERIOD), unit, standalone=True))
                best_base, best_ours, best_page = min(best_base, base), min(best_ours, ours), min(best_page, rendered)
                db.session.rollback()
        for sql in BASELINE:                    # where the time goes
            seconds, _rows = timed(lambda: con.execute(sql, params).fetchall())
            print(f"  {seconds:7.3f}s  {' '.join(sql.split())[:100]}")
        con.close()
        p = figures["problems"]
        ok = report("bulletin", best_ours, best_base, 2,
                    f"page={best_page:.3f}s (target < 1s) visits={figures['visits']['total']} "
                    f"found={p['found']} solved={p['solved']} explained={p['explained']} "
                    f"closure={figures['rates']['closure']} on_time={figures['rates']['on_time_closure']}")
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
