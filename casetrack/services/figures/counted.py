"""Which cases a bulletin figure counts (resolved, solved, explained, closed), in SQL: the
bulletin and the case list's filter behind each figure (services/casework/queries.py) read the
same definition, so a figure and the list it opens hold the same cases."""
from __future__ import annotations

import functools
from datetime import date, timedelta
from typing import Any

from sqlalchemy import and_, exists, false, literal_column, or_, select
from sqlalchemy.orm import aliased

from casetrack.models import Case, CaseEvent, Unit
from casetrack.services.workdays.calendar import start_of
from casetrack.workflow.current import default_workflow


def counted_in(figure: str, date_from: date | None, date_to: date | None, level: str | None = None):
    """The cases a bulletin counts in `figure` (resolved, solved, explained, closed) for a period:
    those whose first event of that kind falls in it (the case list's filter behind each figure)."""
    wf = default_workflow()
    e, earlier, unit = CaseEvent, aliased(CaseEvent), aliased(Unit)
    if figure == "solved":
        cond = [e.case_id == Case.id, or_(false(), *(fired_as(e, t) for t in wf.counting("solved")))]
    else:
        states = {"resolved": [s.name for s in wf.states.values() if s.remember == "resolver"],
                  "explained": sorted(wf.explained_states()),
                  "closed": [s.name for s in wf.states.values() if s.final]}[figure]
        cond = [e.case_id == Case.id, e.to_state.in_(states),
                ~exists().where(earlier.case_id == e.case_id, earlier.to_state == e.to_state, earlier.id < e.id)]
    if date_from:
        cond.append(e.at >= start_of(date_from))
    if date_to:
        cond.append(e.at < start_of(date_to + timedelta(days=1)))
    if level:   # solved: by the unit whose resolution was verified; resolved: the one resolving
        by = Case.resolved_unit_id if figure == "solved" else e.from_unit_id
        cond.append(by.in_(select(unit.id).where(unit.kind == level)))
    return and_(exists().where(*cond), ~is_parent(Case))


def fired_as(e, t):
    """SQL: the event `e` is the transition `t` (its trigger, a source, its destination and the
    values its `when` asks for)."""
    cond = [e.trigger == t.trigger, e.from_state.in_(t.sources)]
    if t.dest:
        cond.append(e.to_state == t.dest)
    for key, value in t.when.items():
        field = e.data[key]
        cond.append(field.as_boolean() == value if isinstance(value, bool) else
                    field.as_integer() == value if isinstance(value, int) else
                    field.as_string().in_([str(v) for v in value]) if isinstance(value, list) else
                    field.as_string() == str(value))
    return and_(*cond)


@functools.cache   # building the aliased subquery costs milliseconds; it is the same each time
def is_parent(case) -> Any:
    """SQL: the case is a shared problem's parent (other cases are linked into it)."""
    member = aliased(Case)
    return select(literal_column("1")).where(member.parent_id == case.id).exists()
