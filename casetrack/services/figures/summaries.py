"""The upkeep of the bulletin's figures per work group and day (table daily_figures), in the
same transaction as the cases, events, visits and targets they count; what the rows are is
`figures` (pure definitions).

How the rows stay exact. A transition (`cases.fire`) counts the difference its event makes,
worked out before its flush from the event and the case before and after it
(`transition_figures`), and `follow_up.after_transition` adds it with the transition's other
follow-ups: a plain move (escalate, refer, send back...) changes only the rows of the case as it
stands, read with one SELECT (is it a parent, its first action, its pending extensions); a
transition into a resolved, explained or final state reads the case's history once and counts it
before and after in memory. Every other writer (links, extensions, visits, targets, imports) is
covered by the session hooks below, which stay so that no writer can be forgotten: the first
flush of a transaction that touches a case reads its rows from the database (a case new in the
transaction has none); before the commit the rows of every case touched are computed once more
and the difference is added, in the same transaction (`Notes`). A case filed in the transaction
and left as filed gets its rows from the objects the session holds, without a SELECT. The same
for the targets touched (their visits' rows and first visit); a new visit adds its cadre rows. A
rollback drops the notes; a savepoint rolled back may leave some, harmlessly (the rows after are
read from the database); a transition's difference is written in its savepoint. `rebuild()`
recomputes all rows from the history with the same definitions (CLI `rebuild-summaries`,
bulk writers).

Writers that bypass the ORM session (Core statements) must call `refresh_cases(ids)` or
`refresh_targets(ids)` before their change (a `with` block around it), in the transaction that
commits it through the session, or `rebuild()` after it, when they insert cases,
visits or state-changing events, or update a case's state, deadline, unit, parent, group,
category or resolving unit, or a target's group, kind or active flag. Events that change
neither state nor unit and carry no action of a person (the sweep's overdue and pre-warning
flags), and updates of other columns (warned_for, overdue_for, warn_on...), are read by no
figure: they may be bulk-written without either.
"""
from __future__ import annotations

import functools
from collections.abc import Iterable
from contextlib import contextmanager

from sqlalchemy import delete, event, inspect, select
from sqlalchemy.orm import Session

from casetrack.db.at_commit import write_at_commit
from casetrack.extensions import db
from casetrack.models import Case, CaseEvent, DailyFigure, Extension, Target, Visit
from casetrack.models.cases import followed_up_in_service
from casetrack.workflow.current import default_workflow
from casetrack.services.workdays.clock import none_pending
from casetrack.services.figures.definitions import (Figures, Rules, add_to, case_figures, case_row, difference, event_row,
                                        figures_of_cases, figures_of_targets, figures_of_visits, history_of,
                                        move_figures, plain_move, standing_of, unit_kinds)


# -- writing ---------------------------------------------------------------------------------

def apply(delta: Figures, connection=None) -> None:
    """Add `delta` to the table (insert or add to the row), on the session's connection."""
    rows = _rows(delta)
    if not rows:
        return
    conn = connection if connection is not None else db.session.connection()
    stmt = _upsert(conn.dialect.name)
    for i in range(0, len(rows), 5000):
        conn.execute(stmt, rows[i:i + 5000])


def _rows(delta: Figures) -> list[dict]:
    return [{"group_id": g, "day": d, "figure": f, "detail": x, "n": n, "funds": fu, "donations": do}
            for (g, d, f, x), (n, fu, do) in sorted(delta.items()) if n or fu or do]


@functools.cache   # built once per process: building it cost more than a filing's upsert
def _upsert(dialect: str):
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    table = DailyFigure.__table__
    stmt = insert(table)
    return stmt.on_conflict_do_update(
        index_elements=[table.c.figure, table.c.day, table.c.group_id, table.c.detail],
        set_={c: table.c[c] + stmt.excluded[c] for c in ("n", "funds", "donations")})


def rebuild() -> int:
    """Recompute every row from the history (cases, events, visits, targets); the row count."""
    db.session.flush()
    forget(db.session())   # what this transaction noted is counted by the rebuild
    db.session.execute(delete(DailyFigure))
    total = 0
    for figures in (figures_of_cases(None), figures_of_visits(None), figures_of_targets(None)):
        apply(figures)
        total += len(figures)
    return total


def table_rows() -> Figures:
    """The table as it is, without rows that add up to nothing."""
    return {(g, d, f, x): [n, fu, do] for g, d, f, x, n, fu, do in db.session.execute(select(
        DailyFigure.group_id, DailyFigure.day, DailyFigure.figure, DailyFigure.detail, DailyFigure.n,
        DailyFigure.funds, DailyFigure.donations)) if n or fu or do}


def recomputed() -> Figures:
    """What the table should hold, recomputed from the history (for checks)."""
    out: Figures = {}
    for figures in (figures_of_cases(None), figures_of_visits(None), figures_of_targets(None)):
        add_to(out, figures)
    return {k: v for k, v in out.items() if any(v)}


def refresh_cases(ids: Iterable[int]):
    """Before a change of these cases made outside the ORM session (Core statements)."""
    return _refreshed("cases", ids)


def refresh_targets(ids: Iterable[int]):
    """Before a change of these targets made outside the ORM session (Core statements)."""
    return _refreshed("targets", ids)


@contextmanager
def _refreshed(what: str, ids: Iterable[int]):
    """Note the rows of these cases or targets as they are now, if this transaction has not
    already; their rows after the change are computed once, before the commit."""
    session = db.session()
    session.flush()   # pending ORM changes first: they note what they touch as it was
    notes = _notes(session)
    if what == "cases":
        notes.note_cases(set(ids))
    else:
        notes.note_targets(set(ids))
    yield


# -- a transition: the difference its event makes ------------------------------------------

# The sort key of a transition's event among the case's events before its INSERT gives its id.
_LAST = 2**63


def before_transition(case: Case) -> tuple | None:
    """The case as the table counts it now, taken before a transition changes it; None when the
    session hooks count it in this transaction (filed or changed in it, or with changes of its
    counted columns not yet flushed)."""
    notes = db.session.info.get(_NOTES)
    state = inspect(case)
    if not state.persistent or (notes is not None and (case.id in notes.cases or case in notes.new_cases)) \
            or not state.committed_state.keys().isdisjoint(FIGURE_COLUMNS):   # set since loaded (cheaper than history)
        return None
    return case_row(case), case.resolved_unit_id


def transition_figures(case: Case, before: tuple | None, ev: CaseEvent) -> Figures | None:
    """The difference the transition `ev` (added, not yet flushed) makes to the table, from the
    event and the case before (`before_transition`) and after it: for a plain move one SELECT
    of the case's standing; otherwise its history read once, counted before and after in memory.
    None when the session hooks count the case instead (noted here, while the database still
    holds it as it was); {} for a case of another workflow."""
    if case.workflow != default_workflow().name:
        return {}
    session = db.session()
    with session.no_autoflush:
        if before is None:
            _notes(session).note_cases({case.id})
            return None
        (old, resolver), rules = before, Rules()
        new, row = case_row(case), (_LAST, *event_row(ev)[1:])
        if plain_move(row, rules):
            is_parent, first_act, extensions = standing_of(case.id, (old[7], old[9]), (new[7], new[9]))
            if ("pending", new[7], new[9]) not in extensions:   # the case's JSON need not ask again
                none_pending(case.id, new[7], new[9])
            return move_figures((*old[:5], is_parent, *old[6:]), (*new[:5], is_parent, *new[6:]), row,
                                first_act, extensions, rules)
        history = history_of(case.id, rules)
        if history is None:
            return {}
        counted, events, extensions = history
        if counted[5] and case.resolved_unit_id != resolver:   # a parent: its members' level follows it
            _notes(session).note_cases({case.id, *session.scalars(select(Case.id).where(Case.parent_id == case.id))})
            return None
        kinds = unit_kinds({e[6] for e in events} | {ev.from_unit_id})
        was: Figures = {}
        will: Figures = {}
        case_figures(counted, events, extensions, rules, kinds, was)
        case_figures((*counted[:7], *new[7:]), [*events, row], extensions, rules, kinds, will)
        return difference(will, was)


def add_figures(delta: Figures) -> None:
    """Add a transition's difference to the table, at the latest with the COMMIT (its rows are
    every transition's of the group that day: locked until then)."""
    rows = _rows(delta)
    if rows:
        conn = db.session.connection()
        write_at_commit(conn, _upsert(conn.dialect.name), rows)


# -- the session hooks: the rows noted at the first touch, the difference applied at commit ----

FIGURE_COLUMNS = ("group_id", "category_id", "kind", "created_at", "parent_id", "resolved_unit_id", "state",
                  "deadline", "unit_id", "found_on")
_NOTES = "casetrack.daily_figures"


class Notes:
    """What the current transaction changed that the figures count, and the rows of each case and
    target as they were before its first change in it. Before the commit the rows after are
    computed once and the difference is added to the table."""

    def __init__(self):
        self.before: Figures = {}
        self.cases: set[int] = set()            # noted (a new case's "before" is nothing)
        self.targets: set[int] = set()
        self.touched: set[int] = set()          # changed after its filing, or by a Core writer
        self.new_cases: dict[Case, list[CaseEvent]] = {}   # with the new events that came with it
        self.new_targets: list[Target] = []
        self.visits: list[Visit] = []

    def note_cases(self, ids: set[int]) -> None:
        self.absorb_new()
        self.touched |= ids
        fresh = ids - self.cases
        if fresh:
            self.cases |= fresh
            add_to(self.before, figures_of_cases(fresh))

    def note_targets(self, ids: set[int]) -> None:
        self.absorb_new()
        fresh = ids - self.targets
        if fresh:
            self.targets |= fresh
            add_to(self.before, figures_of_targets(sorted(fresh)))

    def absorb_new(self) -> None:
        """New cases and targets flushed since: their rows before this transaction are none."""
        self.cases |= {c.id for c in self.new_cases if c.id is not None}
        self.targets |= {t.id for t in self.new_targets if t.id is not None}

    def after(self) -> Figures:
        """The rows of everything noted, as the session and the database hold them now."""
        self.absorb_new()
        out: Figures = {}
        plain = [c for c, events in self.new_cases.items() if _is_plain(c, events, self.touched)]
        if plain:
            rules = Rules()
            for case in plain:
                case_figures(case_row(case), [event_row(ev) for ev in self.new_cases[case]], [], rules, {}, out)
        rest = self.cases - {c.id for c in plain}
        if rest:
            add_to(out, figures_of_cases(rest))
        if self.targets:
            add_to(out, figures_of_targets(sorted(self.targets)))
        return out

    def delta(self) -> Figures:
        delta = difference(self.after(), self.before)
        visits = sorted({v.id for v in self.visits if inspect(v).persistent})
        if visits:
            add_to(delta, figures_of_visits(visits))
        return delta


def _is_plain(case: Case, events: list[CaseEvent], touched: set[int]) -> bool:
    """A case filed in this transaction and left as filed: its rows follow from the objects held
    (no parent, no members, no extension, only its filing event), without a SELECT."""
    return (inspect(case).persistent and case.id not in touched and case.parent_id is None
            and len(events) == 1 and events[0].from_state is None and inspect(events[0]).persistent)



def _notes(session: Session) -> Notes:
    notes = session.info.get(_NOTES)
    if notes is None:
        notes = session.info[_NOTES] = Notes()
    return notes


def note_filed(session: Session, case: Case, ev: CaseEvent) -> None:
    """A case and its first event inserted outside the unit of work (`models.cases.insert_filed`):
    counted from the objects held, as a case filed through a flush is."""
    _notes(session).new_cases[case] = [ev]


def forget(session: Session) -> None:
    """Drop what this transaction noted (the table is rebuilt, or the transaction ends)."""
    session.info.pop(_NOTES, None)


@event.listens_for(Session, "before_flush")
def _before_flush(session, _context, _instances):
    """Note what this flush changes; the rows of an existing case or target as they are in the
    database now, the first time this transaction changes it."""
    cases: set[int] = set()
    targets: set[int] = set()
    new_cases: list[Case] = []
    new_events: list[CaseEvent] = []
    new_targets: list[Target] = []
    visits: list[Visit] = []
    parents_changed: set[int] = set()
    mine = followed_up_in_service(session)   # transitions: counted by `transition_figures`
    moved: set[int] = set()
    for obj in session.new:
        if isinstance(obj, CaseEvent):
            if obj in mine:
                moved.add(obj.case_id)
            else:
                new_events.append(obj)
        elif isinstance(obj, Case):
            new_cases.append(obj)
            if obj.parent_id is not None:
                cases.add(obj.parent_id)
        elif isinstance(obj, Visit):
            visits.append(obj)
            if obj.target_id is not None:
                targets.add(obj.target_id)
            elif obj.target is not None and obj.target.id is not None:
                targets.add(obj.target.id)
            elif obj.target is not None:
                new_targets.append(obj.target)
            for further in obj.more_targets:   # the targets a meeting reached besides its own
                if further.id is not None:
                    targets.add(further.id)
                else:
                    new_targets.append(further)
        elif isinstance(obj, Target):
            new_targets.append(obj)
        elif isinstance(obj, Extension) and obj.case_id is not None:
            cases.add(obj.case_id)
    for obj in session.dirty:
        if isinstance(obj, Case) and obj.id is not None:
            if obj.id in moved:
                continue
            state = inspect(obj)
            changed = [a for a in FIGURE_COLUMNS if state.attrs[a].history.has_changes()]
            if changed:
                cases.add(obj.id)
                for value in (*state.attrs.parent_id.history.deleted, obj.parent_id):
                    if value is not None:
                        cases.add(value)
                if "resolved_unit_id" in changed:
                    parents_changed.add(obj.id)
        elif isinstance(obj, Target) and obj.id is not None:
            state = inspect(obj)
            if any(state.attrs[a].history.has_changes() for a in ("group_id", "kind", "active")):
                targets.add(obj.id)
        elif isinstance(obj, Extension) and obj.case_id is not None:
            cases.add(obj.case_id)
    if not (cases or new_cases or new_events or targets or new_targets or visits):
        return
    notes = _notes(session)
    for case in new_cases:
        notes.new_cases.setdefault(case, [])
    by_id = {c.id: c for c in notes.new_cases if c.id is not None}
    for ev in new_events:
        case = by_id.get(ev.case_id) if ev.case_id is not None else ev.case
        if case is not None and case in notes.new_cases:
            notes.new_cases[case].append(ev)
        else:
            cases.add(ev.case_id if ev.case_id is not None else ev.case.id)
    notes.new_targets += new_targets
    notes.visits += visits
    with session.no_autoflush:
        if parents_changed:   # its members' level of resolution follows the parent's resolver
            cases.update(session.scalars(select(Case.id).where(Case.parent_id.in_(parents_changed))))
        notes.note_cases(cases)
        notes.note_targets(targets)


@event.listens_for(Session, "before_commit")
def _before_commit(session):
    """Once per transaction: the rows after, the difference added in the same transaction."""
    if session.in_nested_transaction():
        return
    session.flush()   # what is still pending notes what it touches
    notes = session.info.pop(_NOTES, None)
    if notes is None:
        return
    with session.no_autoflush:
        rows = _rows(notes.delta())
        if rows:   # rows every filing of a group that day adds to, locked until the COMMIT
            conn = session.connection()
            write_at_commit(conn, _upsert(conn.dialect.name), rows)


@event.listens_for(Session, "after_transaction_end")
def _after_transaction_end(session, transaction):
    """A rollback discards the notes. A savepoint rolled back leaves its notes, harmlessly: the
    rows after are read from the database (where its changes are gone) and its new objects are
    no longer persistent."""
    if transaction.parent is None:
        forget(session)
