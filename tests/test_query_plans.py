"""Case lists page by keyset on an index: SQLite never sorts the matching rows (no temp B-tree).

Checked for the scopes that grow with the data set (county, team, department); a group's
list (its own cases or those sent back to it) is bounded by what one group files.
"""
from __future__ import annotations

import pytest
from sqlalchemy import text

from casetrack.extensions import db
from casetrack.models import Case
from casetrack.services.queries import CaseFilters, filtered_cases
from tests.test_query_counts import counting


@pytest.mark.sqlite_only   # EXPLAIN QUERY PLAN is SQLite's; the PostgreSQL run leaves it out
@pytest.mark.parametrize("who", ["county", "team1", "dept1"])
@pytest.mark.parametrize("filters", [{}, {"state": "county"}, {"kind": "shared"}, {"cursor": 1000}])
def test_case_list_needs_no_sort(world, who, filters):
    f = CaseFilters(**filters)
    stmt = filtered_cases(world.users[who], f).order_by(Case.id.desc()).limit(51)
    if f.cursor:
        stmt = stmt.where(Case.id < f.cursor)
    sql = str(stmt.compile(db.engine, compile_kwargs={"literal_binds": True}))
    plan = " | ".join(row[-1] for row in db.session.execute(text(f"EXPLAIN QUERY PLAN {sql}")))
    assert "TEMP B-TREE" not in plan, plan



@pytest.mark.parametrize("who", ["county", "group1"])
def test_case_list_page_joins_only_the_unit_it_shows(world, client, auth, who):
    """The page shows each case's holding unit: its query joins that unit alone, not the
    category, the group and every unit's parents (ten joins for PostgreSQL to plan per page,
    and a chain of parent objects built for each distinct group on it)."""
    world.file("group1", title="路灯不亮")
    db.session.commit()
    auth.login(who)
    with counting() as statements:
        response = client.get("/cases")
    assert response.status_code == 200 and "路灯不亮" in response.text
    flat = [" ".join(s.split()) for s in statements]
    listed = [s for s in flat if " FROM cases " in s and "ORDER BY cases.id DESC" in s]
    assert len(listed) == 1 and listed[0].count(" JOIN ") == 1, listed


def bulletin_queries(world) -> list[tuple[str, tuple]]:
    """Every SELECT the county's bulletin runs, with its parameters."""
    from datetime import date

    from sqlalchemy import event

    from casetrack.services.bulletin import bulletin
    world.file("group1")
    db.session.commit()
    seen: list[tuple[str, tuple]] = []

    def capture(_conn, _cursor, statement, parameters, _context, _many):
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            seen.append((statement, parameters))
    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        bulletin(world.units["C"], date(2026, 6, 1), date(2026, 6, 7))
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)
    return seen


@pytest.mark.sqlite_only
def test_bulletin_reads_no_table_of_the_history_from_end_to_end(world):
    """No query of the bulletin scans cases, case_events or visits (nor an index of theirs) from
    end to end; the daily figures are read by a range of their primary key (the table itself on
    SQLite: WITHOUT ROWID), never by the group alone."""
    queries = bulletin_queries(world)
    figures = [q for q in queries if "daily_figures" in q[0]]
    assert len(figures) >= 3, queries
    for statement, parameters in queries:
        plan = [row[-1] for row in db.session.connection().exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}",
                                                                            tuple(parameters or ()))]
        for table in ("cases", "case_events", "visits", "daily_figures"):
            assert not any(step.startswith(f"SCAN {table}") for step in plan), (statement, plan)
        for step in plan:   # cases and visits only by a range of days or deadlines
            if step.startswith(("SEARCH cases ", "SEARCH visits ")):
                assert "(state=? AND deadline<?)" in step or "(visited_on>? AND visited_on<?)" in step, plan
        if "FROM daily_figures" in statement:
            steps = [s for s in plan if "daily_figures" in s]
            assert steps and all("USING PRIMARY KEY (figure=" in s for s in steps), plan

