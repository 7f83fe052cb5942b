"""The deadline sweep: pre-warnings, overdue flags and auto-escalation, run from cron.

Idempotent: each action is keyed on the deadline it is about (warned_for, overdue_for) or moves
the case to a new state with a fresh deadline, so a second run finds nothing to do. Safe with
two runs at once: on PostgreSQL each batch of due cases is locked with FOR UPDATE SKIP LOCKED
(and the due conditions are re-checked on the locked row), on SQLite the whole sweep is one
BEGIN IMMEDIATE transaction.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import and_, exists, false, or_, select, update

from casetrack.extensions import db
from casetrack.models import Case, Extension
from casetrack.services.calendar import nth_workday_back, today
from casetrack.services.cases import fire, registry
from casetrack.services.errors import ServiceError
from casetrack.services.notices import log_event, notify, superior
from casetrack.workflow import Workflow

BATCH = 500


def _due(wf: Workflow, day) -> tuple[Any, Any, Any, Any]:
    """(open clocks, escalation due, overdue not yet flagged, pre-warning due) as SQL conditions."""
    running = [s.name for s in wf.states.values() if not s.pauses_clock and not s.final]
    base = and_(Case.workflow == wf.name, Case.workflow_version == wf.version,
                Case.state.in_(running), Case.deadline.is_not(None), Case.parent_id.is_(None))
    if wf.extensions and wf.extensions.pause_while_pending:
        base = and_(base, ~exists().where(Extension.case_id == Case.id,
                                          Extension.status == "pending"))
    escalate = or_(false(), *(
        and_(Case.state == s.name, Case.deadline < nth_workday_back(day, s.auto_escalate.after_days))
        for s in wf.states.values() if s.auto_escalate))
    overdue = and_(Case.deadline < day,
                   or_(Case.overdue_for.is_(None), Case.overdue_for != Case.deadline))
    warn = and_(Case.warn_on.is_not(None), Case.warn_on <= day, Case.deadline >= day,
                or_(Case.warned_for.is_(None), Case.warned_for != Case.deadline))
    return base, escalate, overdue, warn


def sweep_deadlines(batch: int = BATCH) -> dict[str, int]:
    """Apply every due rule once; flushes, the caller commits. Returns what was done."""
    day = today()
    done = {"escalated": 0, "warned": 0, "overdue": 0}
    for wf in registry().workflows.values():
        base, escalate, overdue, warn = _due(wf, day)
        last = 0
        while True:
            ids = list(db.session.scalars(
                select(Case.id).where(base, or_(escalate, overdue, warn), Case.id > last)
                .order_by(Case.id).limit(batch).with_for_update(skip_locked=True)))
            if not ids:
                break
            last = ids[-1]
            for case_id in ids:
                _act(wf, db.session.get(Case, case_id), day, done)
            db.session.flush()
    return done


def _act(wf: Workflow, case: Case, day, done: dict[str, int]) -> None:
    rule = wf.states[case.state].auto_escalate
    if rule and case.deadline < nth_workday_back(day, rule.after_days):
        try:
            with db.session.begin_nested():
                fire(case, rule.trigger, None, reason=rule.reason.get("zh") or rule.reason["en"])
        except ServiceError as exc:
            if exc.code == "stale":  # fire rolled the transaction back: never hide that
                raise
            # e.g. no unit above: left for a person, flagged overdue below
        else:
            done["escalated"] += 1
            return
    if case.deadline < day:
        if case.overdue_for != case.deadline:
            _flag(case, "overdue", Case.overdue_for)
            notify("overdue", case, f"overdue since {case.deadline.isoformat()}",
                   unit=superior(case.unit))
            notify("overdue", case, f"overdue since {case.deadline.isoformat()}", unit=case.unit)
            done["overdue"] += 1
    elif case.warned_for != case.deadline:
        _flag(case, "pre_warning", Case.warned_for)
        notify("pre_warning", case, f"due on {case.deadline.isoformat()}", unit=case.unit)
        done["warned"] += 1


def _flag(case: Case, trigger: str, column) -> None:
    """Record the flag for this deadline without bumping the case's version (no one's edit
    should fail because the sweep passed by)."""
    db.session.execute(update(Case).where(Case.id == case.id).values({column: case.deadline}),
                       execution_options={"synchronize_session": False})
    log_event(case, None, trigger, {"deadline": case.deadline.isoformat()})
