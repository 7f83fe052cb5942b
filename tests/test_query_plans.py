"""Case lists page by keyset on an index: SQLite never sorts the matching rows (no temp B-tree).

Checked for the scopes that grow with the data set (county, team, department); a group's
list (its own cases or those sent back to it) is bounded by what one group files.
"""
from __future__ import annotations

import pytest
from sqlalchemy import select, text

from casetrack.extensions import db
from casetrack.models import Case
from casetrack.services.casework.queries import CaseFilters, filtered_cases
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



# sqlite_stat1 of `cases` after ANALYZE of 5M generated cases (1,000 groups of 5,000 cases)
PROVINCE_STATS = {"ix_cases_category_id": "5000000 250000", "ix_cases_created_at": "5000000 1",
                  "ix_cases_department_id": "5000000 87720", "ix_cases_group_id_id": "5000000 5000 1",
                  "ix_cases_group_state": "5000000 5000 715 1", "ix_cases_state_deadline": "5000000 714286 10505",
                  "ix_cases_state_id": "5000000 714286 1", "ix_cases_target_id": "5000000 5000000",
                  "ix_cases_unit_state": "5000000 4386 2242 1", "ix_cases_visit_id": "5000000 5000000"}


def province_stats() -> None:
    """The planner's statistics of the other tables as they are, of `cases` as at 5M cases."""
    db.session.execute(text("ANALYZE"))
    db.session.execute(text("DELETE FROM sqlite_stat1 WHERE tbl = 'cases'"))
    for index, stat in PROVINCE_STATS.items():
        db.session.execute(text("INSERT INTO sqlite_stat1 VALUES ('cases', :idx, :stat)"),
                           {"idx": index, "stat": stat})
    db.session.execute(text("ANALYZE sqlite_schema"))  # load the statistics written above


@pytest.mark.sqlite_only
@pytest.mark.parametrize("filters", [{}, {"cursor": 10**6}, {"state": "group"}])
def test_group_list_sorts_ids_not_rows_at_province_size(world, filters):
    """A group's list is two index ranges (`group_id = g OR unit_id = g`) that no index orders by id:
    with a province's statistics SQLite gathers the group's cases and sorts them. The page's ids are
    chosen first, so what it sorts is the group's ids, and only the page's rows are read; sorting
    the group's whole rows made the page 4x slower at 5M cases than at 10k (34 ms against 0.2)."""
    from sqlalchemy import event

    from casetrack.services.casework.queries import LIST_ROW, list_cases
    world.file("group1", title="路灯不亮")
    db.session.commit()
    province_stats()
    seen: list[tuple[str, tuple]] = []

    def capture(_conn, _cursor, statement, parameters, _context, _many):
        if "ORDER BY cases.id DESC" in " ".join(statement.split()):
            seen.append((statement, parameters))
    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        rows, _cursor = list_cases(world.users["group1"], CaseFilters(**filters), *LIST_ROW)
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)
    assert [c.title for c in rows] == ["路灯不亮"]
    assert len(seen) == 1, seen
    plan = list(db.session.connection().exec_driver_sql(f"EXPLAIN QUERY PLAN {seen[0][0]}", seen[0][1]))
    top = [detail for _id, parent, _n, detail in plan if parent == 0]
    assert top[0] == "SEARCH cases USING INTEGER PRIMARY KEY (rowid=?)", plan
    assert not any("TEMP B-TREE" in step for step in top), plan
    assert any("ix_cases_group" in detail for *_r, detail in plan), plan  # the group's own index range


@pytest.mark.sqlite_only
@pytest.mark.parametrize("who", ["county", "team1"])
@pytest.mark.parametrize("filters", [{}, {"state": "county"}])
def test_the_lists_count_searches_an_index_of_the_scope(world, who, filters):
    """The count above the list (up to LIST_COUNT_LIMIT) of a county or a team searches its
    groups in an index: with the page's "+ 0" it read the cases, or a whole index, in id order
    until 100,001 matched (on PostgreSQL a scan of a province's cases, 52 ms a page at 5M)."""
    from sqlalchemy import event

    from casetrack.services.casework.queries import count_cases
    province_stats()
    seen: list[tuple[str, tuple]] = []

    def capture(_conn, _cursor, statement, parameters, _context, _many):
        if "count(" in statement:
            seen.append((statement, parameters))
    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        count_cases(world.users[who], CaseFilters(**filters))
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)
    assert len(seen) == 1, seen
    plan = [row[-1] for row in db.session.connection().exec_driver_sql(f"EXPLAIN QUERY PLAN {seen[0][0]}",
                                                                        seen[0][1])]
    cases = [step for step in plan if step.split()[1:2] == ["cases"]]
    assert cases and all(step.startswith("SEARCH cases") for step in cases), plan


@pytest.mark.sqlite_only
def test_a_departments_paired_sites_are_found_by_their_village(world):
    """A department paired with communities (包抓共建) reads the cases at their sites on every
    list page: the sites by village, through an index (SQLite built an automatic index of every
    target for each page: 1.5 s a page at 600k targets)."""
    from casetrack.models import CampaignPair
    db.session.add(CampaignPair(campaign="rectification", community="王家村", unit_id=world.units["D1"].id))
    db.session.commit()
    province_stats()
    stmt = filtered_cases(world.users["dept1"], CaseFilters()).order_by(Case.id.desc()).limit(21)
    sql = str(stmt.compile(db.engine, compile_kwargs={"literal_binds": True}))
    plan = [row[-1] for row in db.session.execute(text(f"EXPLAIN QUERY PLAN {sql}"))]
    assert "SEARCH targets USING INDEX ix_targets_village (village=?)" in plan, plan


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


def report_queries(world, report=None) -> list[tuple[str, tuple]]:
    """Every SELECT the county's bulletin (or `report` of the county, from, to) runs, with its
    parameters."""
    from datetime import date

    from sqlalchemy import event

    from casetrack.services.reports.bulletin import bulletin
    world.file("group1")
    db.session.commit()
    seen: list[tuple[str, tuple]] = []

    def capture(_conn, _cursor, statement, parameters, _context, _many):
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            seen.append((statement, parameters))
    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        (report or bulletin)(world.units["C"], date(2026, 6, 1), date(2026, 6, 7))
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)
    return seen


def test_the_dashboard_reads_no_visit(world):
    """The dashboard and the month's assessment show no distinct targets: their figures are sums
    of the daily figures, never a count of the campaign's visits (30 s at 1M cases before)."""
    from casetrack.services.reports.dashboard import dashboard
    queries = report_queries(world, dashboard)
    assert any("daily_figures" in q for q, _p in queries)
    assert not [q for q, _p in queries if "visits" in q.replace("daily_figures", "")], queries


@pytest.mark.sqlite_only
def test_bulletin_reads_no_table_of_the_history_from_end_to_end(world):
    """No query of the bulletin scans cases, case_events or visits (nor an index of theirs) from
    end to end; the daily figures are read by a range of their primary key (the table itself on
    SQLite: WITHOUT ROWID), never by the group alone."""
    queries = report_queries(world)
    figures = [q for q in queries if "daily_figures" in q[0]]
    assert len(figures) >= 3, queries
    for statement, parameters in queries:
        plan = [row[-1] for row in db.session.connection().exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}",
                                                                            tuple(parameters or ()))]
        for table in ("cases", "case_events", "visits", "daily_figures"):
            assert not any(step.startswith(f"SCAN {table}") for step in plan), (statement, plan)
        for step in plan:   # cases and visits only by a range of days or deadlines (petition cases:
            # of filing days, or filed by the period's end, each with its own events)
            if step.startswith(("SEARCH cases ", "SEARCH visits ")):
                assert any(r in step for r in ("(state=? AND deadline<?)", "(visited_on>? AND visited_on<?)",
                                               "(source=? AND created_at>? AND created_at<?)",
                                               "(source=? AND created_at<?)")), plan
            if step.startswith("SEARCH case_events "):
                assert "(case_id=?" in step, plan
        if "FROM daily_figures" in statement:
            steps = [s for s in plan if "daily_figures" in s]
            assert steps and all("USING PRIMARY KEY (figure=" in s for s in steps), plan



@pytest.mark.sqlite_only
def test_the_sweeps_due_cases_look_up_only_their_own_extensions(world):
    """Whether a case's clock is held by a pending extension is asked per due case: through the
    case's extensions, not through every extension its unit ever had. That is the plan SQLite
    picked with statistics of a large `cases` and none of `extensions` (as after the benchmark's
    ANALYZE; the app itself does not ANALYZE SQLite)."""
    from casetrack.services.casework.cases import default_workflow
    from casetrack.services.workdays.clock import running_clock
    province_stats()  # the world has no extension: none of their statistics
    stmt = select(Case.id).where(running_clock(default_workflow()), Case.id > 0).order_by(Case.id).limit(1000)
    sql = str(stmt.compile(db.engine, compile_kwargs={"literal_binds": True}))
    plan = " | ".join(row[-1] for row in db.session.execute(text(f"EXPLAIN QUERY PLAN {sql}")))
    assert "extensions USING INDEX ix_extensions_case_status (case_id=? AND status=?)" in plan, plan


@pytest.mark.sqlite_only
def test_an_api_token_is_found_by_its_digest_alone(world, api):
    """Every API request looks its token up by the digest's unique index: one row probed, with
    the owner and their unit by primary key, however many tokens there are."""
    from casetrack.services.organisation import accounts
    from casetrack.services.workdays.calendar import now
    for user in world.users.values():
        for _ in range(5):
            accounts.create_token(user, "phone")
    db.session.commit()
    assert api("group1").get("/me").status_code == 200
    sql = str(accounts._TOKEN_OWNER.compile(db.engine))
    plan = [row[-1] for row in db.session.connection().exec_driver_sql(
        f"EXPLAIN QUERY PLAN {sql}", (1, "0" * 64, now().isoformat()))]
    assert plan[0].startswith("SEARCH api_tokens USING INDEX") and "(token_hash=?)" in plan[0], plan
    assert not any(step.startswith("SCAN") for step in plan), plan
