"""A case's clock: its pre-warning day, whether it is paused, and what the case shows about it."""
from __future__ import annotations

import math
from datetime import date
from typing import Any

from sqlalchemy import and_, bindparam, select

from casetrack.extensions import db
from casetrack.models import Case, Extension
from casetrack.services.workdays.calendar import add_working_days, deadline_basis, today, working_days_between
from casetrack.workflow import Workflow
from casetrack.workflow.current import workflow_of


def warn_day(start: date, deadline: date | None, share: float | None) -> date | None:
    """The day `share` of the working days from `start` to `deadline` have passed."""
    if deadline is None or share is None:
        return None
    total = working_days_between(start, deadline)
    if total == 0:
        return deadline
    return add_working_days(start, math.ceil(round(total * share, 9)))


def start_clock(case: Case, wf: Workflow) -> None:
    """Called whenever a case gets a new deadline: set the day its handler is pre-warned."""
    case.warn_on = warn_day(today(), case.deadline, wf.warn_at)


def pending_extension(case: Case, wf: Workflow | None = None) -> Extension | None:
    """The extension the case's holder asked for in its present state, waiting for a decision
    (one asked before the case moved on no longer holds its clock)."""
    if wf is not None and (wf.extensions is None or case.state not in wf.extensions.states):
        return None
    if (case.id, case.state, case.unit_id) in db.session.info.get(_NONE_PENDING, ()):
        return None
    return db.session.scalars(_PENDING, {"case_id": case.id, "state": case.state, "unit_id": case.unit_id}).first()


# session.info: (case id, state, unit id) read in this request to have no pending extension (a
# transition's daily figures read it for the state and unit it moved the case to); forgotten when
# an extension is asked for.
_NONE_PENDING = "casetrack.none_pending"


def none_pending(case_id: int, state: str, unit_id: int) -> None:
    db.session.info.setdefault(_NONE_PENDING, set()).add((case_id, state, unit_id))


def forget_none_pending() -> None:
    db.session.info.pop(_NONE_PENDING, None)


# Built once: a case's JSON asks it on every request.
_PENDING = select(Extension).where(Extension.case_id == bindparam("case_id"), Extension.status == "pending",
                                   Extension.state == bindparam("state"), Extension.unit_id == bindparam("unit_id"))


# "Not looked up yet", as opposed to None: looked up, and there is no pending extension.
_LOOK_UP: Any = object()


def is_paused(case: Case, wf: Workflow, pending: Extension | None = _LOOK_UP) -> bool:
    """The clock stands still: a pausing state, a linked member (its parent runs the clock),
    or a pending extension when the workflow says so."""
    if wf.states[case.state].pauses_clock or case.parent_id is not None:
        return True
    if pending is _LOOK_UP:
        pausing = wf.extensions and wf.extensions.pause_while_pending
        pending = pending_extension(case, wf) if case.id and pausing else None
    return bool(pending and wf.extensions and wf.extensions.pause_while_pending)


def running_clock(wf: Workflow):
    """SQL: the case's clock runs (the rule of `is_paused`, for queries and the sweep)."""
    paused = [s.name for s in wf.states.values() if s.pauses_clock]
    clause = and_(Case.state.not_in(paused), Case.parent_id.is_(None))
    if wf.extensions and wf.extensions.pause_while_pending:
        # With statistics of cases but none of extensions, SQLite probed the unit's index: every
        # extension the unit ever had, read for each case (a case has a few of its own).
        clause = and_(clause, ~select(Extension.id).where(
            Extension.case_id == Case.id, Extension.status == "pending",
            Extension.state == Case.state, Extension.unit_id == Case.unit_id)
            .with_hint(Extension, "INDEXED BY ix_extensions_case_status", "sqlite").exists())
    return clause


def is_overdue(case: Case, wf: Workflow, pending: Extension | None = _LOOK_UP) -> bool:
    return bool(case.deadline and case.deadline < today() and not is_paused(case, wf, pending))


def pending_extensions(cases: list[Case]) -> dict[int, Extension]:
    """pending_extension() for a page of cases, in one query."""
    if not cases:
        return {}
    by_id = {c.id: c for c in cases}
    found: dict[int, Extension] = {}
    for ext in db.session.scalars(select(Extension).where(Extension.case_id.in_(by_id),
                                                          Extension.status == "pending")):
        case = by_id[ext.case_id]
        wf = workflow_of(case)
        if wf.extensions and case.state in wf.extensions.states and \
                (ext.state, ext.unit_id) == (case.state, case.unit_id):
            found.setdefault(case.id, ext)
    return found


def clock_json(case: Case, wf: Workflow, pending: Extension | None = _LOOK_UP) -> dict[str, Any]:
    """What the JSON API says of a case's clock and its shared problem (one query at most,
    none when the caller passes the pending extension it looked up for a whole page)."""
    if pending is _LOOK_UP:
        pending = pending_extension(case, wf) if case.id else None
    parent = case.parent
    return {
        "overdue": is_overdue(case, wf, pending),
        "deadline_basis": deadline_basis(case.deadline),
        "warn_on": case.warn_on.isoformat() if case.warn_on else None,
        "paused": is_paused(case, wf, pending),
        "extension_pending": pending is not None,
        "parent": {"id": parent.id, "title": parent.title, "state": parent.state,
                   "state_label": wf.states[parent.state].label} if parent else None,
    }
