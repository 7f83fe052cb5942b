"""The deadline sweep: pre-warnings, overdue flags and auto-escalation, run from cron.

Idempotent: each action is keyed on the deadline it is about (warned_for, overdue_for) or moves
the case to a new state with a fresh deadline, so a second run finds nothing to do. Safe with
two runs at once: on PostgreSQL each batch of due cases is locked with FOR UPDATE SKIP LOCKED
(and the due conditions are re-checked on the locked row), on SQLite each transaction takes the
write lock up front (BEGIN IMMEDIATE). Each batch is complete on its own, so committing after
each one (as the CLI does) is as safe as committing once.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection
from typing import Any

from sqlalchemy import and_, bindparam, false, func, or_, select
from sqlalchemy import case as sql_case

from casetrack.db.bulk import driver_marks, driver_rows
from casetrack.extensions import db
from casetrack.long_work import report
from casetrack.models import Case, CaseEvent, Unit
from casetrack.models.cases import PROGRESS, SEALED_COLUMNS, append_events, sealed_rows
from casetrack.services.figures import summaries
from casetrack.services.integration import webhooks
from casetrack.services.workdays.calendar import add_working_days, now, nth_workday_back, today
from casetrack.services.casework.cases import fire_many, registry
from casetrack.services.workdays.clock import running_clock
from casetrack.services.common.errors import ServiceError
from casetrack.services.casework.notices import Digests, REPORT_LATE, notify
from casetrack.services.figures.definitions import local_day
from casetrack.workflow import Workflow

BATCH = 1000


def _due(wf: Workflow, day, cutoffs: dict[str, Any]) -> tuple[Any, Any, Any, Any]:
    """(open clocks, escalation due, overdue not yet flagged, pre-warning due) as SQL conditions;
    a state's cutoff is the day before which a deadline has been missed long enough to climb."""
    final = [s.name for s in wf.states.values() if s.final]
    base = and_(Case.workflow == wf.name, Case.workflow_version == wf.version,
                Case.state.not_in(final), Case.deadline.is_not(None), running_clock(wf))
    escalate = or_(false(), *(and_(Case.state == state, Case.deadline < cutoff)
                              for state, cutoff in cutoffs.items()))
    overdue = and_(Case.deadline < day,
                   or_(Case.overdue_for.is_(None), Case.overdue_for != Case.deadline))
    warn = and_(Case.warn_on.is_not(None), Case.warn_on <= day, Case.deadline >= day,
                or_(Case.warned_for.is_(None), Case.warned_for != Case.deadline))
    return base, escalate, overdue, warn


def _flows(names: Collection[str] | None) -> list[Workflow]:
    """The workflows swept: every one, or those named (a campaign's)."""
    return [wf for wf in registry().workflows.values() if names is None or wf.name in names]


def sweep_deadlines(batch: int | None = None, after_batch: Callable[[], None] | None = None,
                    workflows: Collection[str] | None = None) -> dict[str, int]:
    """Apply every due rule once (to the cases of `workflows` only, if named: a campaign's);
    flushes, the caller commits. Returns what was done.

    `after_batch` is called after each batch is flushed: the CLI commits there (see cli.py).
    The run's flags are told in digests (one notice per unit and kind: "12 cases newly overdue"),
    mailed once at the end, in the caller's last transaction."""
    batch, day = batch or BATCH, today()
    digests, dates = Digests(now()), _Dates(db.session.get_bind().dialect)
    done = {"escalated": 0, "warned": 0, "overdue": 0}
    swept = 0
    for wf in _flows(workflows):
        cutoffs = {s.name: nth_workday_back(day, s.auto_escalate.after_days)
                   for s in wf.states.values() if s.auto_escalate}
        base, escalate, overdue, warn = _due(wf, day, cutoffs)
        # with what a flag's event needs to move the case's head on and reseal it (`append_events`)
        due = (select(Case.id, Case.state, Case.deadline, Case.unit_id, Case.overdue_for, Unit.parent_id,
                      Case.chain_head, *(getattr(Case, c) for c in SEALED_COLUMNS))
               .join(Unit, Unit.id == Case.unit_id)
               .where(base, or_(escalate, overdue, warn), Case.id > bindparam("last"))
               .order_by(Case.id).limit(batch).with_for_update(of=Case, skip_locked=True))
        last = 0
        db.session.flush()  # the batches are read past the session, which would have autoflushed
        while True:
            rows = driver_rows(db.session.connection(), due, {"last": last})
            if not rows:
                break
            last = rows[-1][0]
            _batch(wf, rows, day, cutoffs, done, digests, dates)
            swept += len(rows)
            report("due cases", swept)
            if after_batch is not None:
                after_batch()
    late = flag_late_reports(digests, workflows, after_batch, batch)
    if late:   # only a workflow that asks for progress reports flags them
        done["report_late"] = late
    digests.mail()
    return done


def sweep_revisits(workflows: Collection[str] | None = None) -> int:
    """Bring back the explained cases whose revisit day has come; flushes, the caller commits.
    Returns how many."""
    return sum(_revisits(wf, today()) for wf in _flows(workflows))


REVISIT_EVENT = "revisit_due"  # the timeline's entry: the case is back on its holder's inbox


def _revisits(wf: Workflow, day) -> int:
    """Explained cases whose revisit day (the state's `revisit` field) has come: each gets an
    event on its timeline and a notice to the unit holding it, once per revisit day (its inbox
    shows it from that day: queries.waiting_for)."""
    states = wf.revisit_states()
    if not states:
        return 0
    cases = db.session.scalars(
        select(Case).where(Case.workflow == wf.name, Case.workflow_version == wf.version,
                           Case.state.in_(states), Case.revisit_on <= day,
                           or_(Case.revisit_told_for.is_(None), Case.revisit_told_for != Case.revisit_on))
        .order_by(Case.id).limit(BATCH).with_for_update(of=Case, skip_locked=True)).all()
    events = []
    for case in cases:
        field = wf.fields[states[case.state]]
        case.revisit_told_for = case.revisit_on
        events.append(CaseEvent(case_id=case.id, at=now(), actor_id=None, trigger=REVISIT_EVENT,
                                from_state=case.state, to_state=case.state, from_unit_id=case.unit_id,
                                to_unit_id=case.unit_id, data={field.name: case.revisit_on.isoformat()}))
        notify("revisit", case, f"{field.label.get('zh', field.name)}：{case.revisit_on.isoformat()}",
               unit=case.unit)
    db.session.add_all(events)
    if events:   # no figure counts them (same state, same unit, no person)
        webhooks.queue_events(events)
    db.session.flush()
    return len(cases)


class _Dates(dict):
    """A date column's values as the driver returns them (SQLite: ISO text) -> dates, each
    distinct value converted once (a batch holds a few distinct deadlines)."""

    def __init__(self, dialect):
        super().__init__()
        self._process = Case.__table__.c.deadline.type.dialect_impl(dialect).result_processor(dialect, None)

    def __missing__(self, value):
        self[value] = converted = self._process(value) if self._process and value is not None else value
        return converted


def _batch(wf: Workflow, rows: list, day, cutoffs: dict, done: dict[str, int], digests: Digests,
           dates: _Dates) -> None:
    """One locked batch (the driver's rows): escalations one by one through the workflow, flags in bulk."""
    climbing = _escalate(wf, [r[0] for r in rows if r[1] in cutoffs and dates[r[2]] < cutoffs[r[1]]])
    done["escalated"] += len(climbing)
    flags = []
    for case_id, state, deadline, unit_id, overdue_for, superior_id, *sealed in rows:
        deadline = dates[deadline]
        if case_id not in climbing and (deadline >= day or dates[overdue_for] != deadline):
            flags.append((case_id, state, deadline, unit_id, superior_id, sealed))
    _flag(flags, day, digests)
    overdue = sum(1 for flag in flags if flag[2] < day)
    done["overdue"] += overdue
    done["warned"] += len(flags) - overdue
    db.session.flush()


def _escalate(wf: Workflow, ids: list[int]) -> set[int]:
    """Fire each case's auto-escalation through the workflow; returns the ids escalated. All in
    one savepoint and one flush; if one fails (e.g. no unit above: left for a person, flagged
    overdue instead), that savepoint is undone and each case is fired again in a savepoint of its own."""
    if not ids:
        return set()
    # as the rows locked now hold them, not as the session may have loaded them earlier
    cases = db.session.scalars(select(Case).where(Case.id.in_(ids)).order_by(Case.id)
                               .execution_options(populate_existing=True)).all()
    try:
        # their daily figures before and after, read for all at once, not at each transition
        with db.session.begin_nested(), summaries.recount(cases=ids):
            fire_many([_firing(wf, case) for case in cases], None)
        return set(ids)
    except ServiceError as exc:
        if exc.code == "stale":  # fire rolled the transaction back: never hide that
            raise
    if len(cases) == 1:
        return set()
    return {case.id for case in cases if _escalate(wf, [case.id])}


def _firing(wf: Workflow, case: Case) -> tuple[Case, str, dict[str, Any]]:
    rule = wf.states[case.state].auto_escalate
    return case, rule.trigger, {"reason": rule.reason.get("zh") or rule.reason["en"]}


def _flag(rows: list[tuple], day, digests: Digests) -> None:
    """Record a pre-warning (deadline not passed) or an overdue flag (passed) for each case's
    current deadline: the events in bulk through `append_events` (the same hash chain as the
    ORM's, stamped with the run's time), whose UPDATE of each case (its head, seal and version:
    an edit begun before the flag is refused as stale, rather than forking the chain) also sets
    the flag columns; and the counts of the run's digests: the unit holding each case, and for
    an overdue case its superior unit too ("N cases of <unit> newly overdue")."""
    if not rows:
        return
    conn = db.session.connection()
    bind = Case.__table__.c.deadline.type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
    on = bind(day) if bind else day
    mark = driver_marks(conn, 1)
    events, counts, data, at = [], Counter(), {}, digests.at
    for case_id, state, deadline, unit_id, superior_id, _sealed in rows:
        trigger = "overdue" if deadline < day else "pre_warning"
        if deadline not in data:  # one dict per deadline: its JSON is bound once (insert_many)
            data[deadline] = {"deadline": deadline.isoformat()}
        events.append((case_id, at, None, trigger, state, state, unit_id, unit_id, data[deadline]))  # EVENT_COLUMNS
        counts[trigger, unit_id, None] += 1
        if trigger == "overdue" and superior_id:
            counts[trigger, superior_id, unit_id] += 1
    append_events(events, {r[0]: r[5] for r in rows},
                  f"overdue_for = CASE WHEN deadline < {mark} THEN deadline ELSE overdue_for END, "
                  f"warned_for = CASE WHEN deadline >= {mark} THEN deadline ELSE warned_for END", (on, on))
    webhooks.queue_written(db.session(), events)
    digests.add(counts)


def flag_late_reports(digests: Digests, workflows: Collection[str] | None = None,
                      after_batch: Callable[[], None] | None = None, batch: int | None = None) -> int:
    """Flag each case held in a state that asks for a progress report every N working days
    (`report_every`) whose last report, or its arrival in the state, is more than N working days
    old: a `report_late` event (once per late report) and a digest to its holder. One grouped
    query per such state; the flags written `batch` (default `BATCH`) cases at a time, as the
    deadlines' flags are, each batch followed by `after_batch` (the CLI commits there)."""
    batch, day, at, flagged = batch or BATCH, today(), digests.at, []
    moved = and_(CaseEvent.to_state == Case.state,
                 or_(CaseEvent.from_state.is_(None), CaseEvent.from_state != CaseEvent.to_state))
    for wf in _flows(workflows):
        for state in (s for s in wf.states.values() if s.report_every):
            last = func.max(sql_case((or_(moved, CaseEvent.trigger == PROGRESS), CaseEvent.at)))
            flag = func.max(sql_case((CaseEvent.trigger == REPORT_LATE, CaseEvent.at)))
            rows = db.session.execute(
                select(Case.id, Case.unit_id, last, flag).join(CaseEvent, CaseEvent.case_id == Case.id)
                .where(Case.workflow == wf.name, Case.workflow_version == wf.version, Case.state == state.name)
                .group_by(Case.id, Case.unit_id))
            due: dict = {}
            for case_id, unit_id, since, flagged_at in rows:
                if since is None or (flagged_at is not None and flagged_at > since):
                    continue
                start = local_day(since)
                if start not in due:
                    due[start] = add_working_days(start, state.report_every)
                if due[start] < day:
                    flagged.append((case_id, at, None, REPORT_LATE, state.name, state.name, unit_id, unit_id,
                                    {"since": start.isoformat()}))
    written = 0
    for first in range(0, len(flagged), batch):
        written += _flag_late(flagged[first:first + batch], digests)
        report("late progress reports", min(first + batch, len(flagged)), len(flagged))
        if after_batch is not None:
            after_batch()
    return written


_STATE = 1 + SEALED_COLUMNS.index("state")  # in a case's `sealed_rows`, after its chain head


def _flag_late(rows: list[tuple], digests: Digests) -> int:
    """One batch of late reports (a statement's parameters are bounded: PostgreSQL takes at most
    65,535), each case read again with its row locked: one that has left the state since the
    grouped query read it is not flagged. Returns how many were."""
    cases = sealed_rows(db.session, [row[0] for row in rows])
    rows = [row for row in rows if row[0] in cases and cases[row[0]][_STATE] == row[4]]
    if rows:
        append_events(rows, cases)
        webhooks.queue_written(db.session(), rows)
        digests.add(Counter((REPORT_LATE, row[6], None) for row in rows))
        db.session.flush()
    return len(rows)
