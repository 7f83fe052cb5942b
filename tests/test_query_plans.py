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

