"""The upkeep of the bulletin's figures per work group and day (table daily_figures), in the
same transaction as the cases, events, visits and targets they count; what the rows are is
`figures` (pure definitions). No session hook: each use case that changes what a figure counts
says so itself, and reading it shows it.

- A filing counts its new case from the objects held (`count_filed`, by `follow_up.after_filing`).
- A transition (`cases.fire`) counts the difference its event makes, worked out before its flush
  from the event and the case before and after it (`transition_figures`), added by
  `follow_up.after_transition`: a plain move (escalate, refer, send back...) changes only the
  rows of the case as it stands, read with one SELECT; a transition into a resolved, explained
  or final state reads the case's history once and counts it before and after in memory.
- Every other use case (links, extensions, feedback, visits, targets, imports, the sweep's
  escalations, the demo) wraps its change in `recount(cases=..., targets=...)`: the rows of
  those cases and targets are read before and after it and the difference is added; what it
  adds (new cases, targets, visits) is named on the recount and counted after. A bulk writer
  wraps all its rows in one recount (or, filing many cases, in `added_together`), or calls
  `rebuild()` at its end.

A change of a case or target that none of these covers leaves the table wrong until
`rebuild()` (CLI `rebuild-summaries`); tests/test_summaries.py walks every writer and compares
the table with `recomputed()` after each. Events that change neither state nor unit and carry no
action of a person (the sweep's flags, progress reports, supervision notes), and updates of
other columns (warned_for, overdue_for, warn_on...), are read by no figure.
"""
from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from sqlalchemy import delete, inspect, select
from sqlalchemy.orm import Session

from casetrack.db.at_commit import send_queued, write_at_commit
from casetrack.extensions import db
from casetrack.models import Case, CaseEvent, DailyFigure, Visit
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
        index_elements=[table.c.figure, table.c.group_id, table.c.day, table.c.detail],
        set_={c: table.c[c] + stmt.excluded[c] for c in ("n", "funds", "donations")})


def rebuild() -> int:
    """Recompute every row from the history (cases, events, visits, targets); the row count.
    What this transaction added before, still waiting for the COMMIT, is written first: the
    rebuild counts it."""
    db.session.flush()
    conn = db.session.connection()
    send_queued(conn)
    conn.execute(delete(DailyFigure))
    total = 0
    for figures in (figures_of_cases(None), figures_of_visits(None), figures_of_targets(None)):
        apply(figures, conn)
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


# -- a transition: the difference its event makes ------------------------------------------

# The sort key of a transition's event among the case's events before its INSERT gives its id.
_LAST = 2**63


def before_transition(case: Case) -> tuple | None:
    """The case as the table counts it now, taken before a transition changes it; None when an
    open `recount` of the use case that fires it counts the case."""
    if case.id in _recounting(db.session())[0]:
        return None
    if not inspect(case).committed_state.keys().isdisjoint(FIGURE_COLUMNS):   # set since loaded (cheaper than history)
        db.session.flush()   # a change not flushed yet: the database must hold the case as counted
    return case_row(case), case.resolved_unit_id


def transition_figures(case: Case, before: tuple | None, ev: CaseEvent) -> Figures | Recount | None:
    """The difference the transition `ev` (added, not yet flushed) makes to the table, from the
    event and the case before (`before_transition`) and after it: for a plain move one SELECT
    of the case's standing; otherwise its history read once, counted before and after in memory.
    A parent whose resolving unit changes moves its members' rows too: a `Recount` of them all,
    begun here while the database still holds them as they were, finished by `count_transition`
    after the flush. None when the caller's recount counts the case; {} for a case of another
    workflow."""
    if case.workflow != default_workflow().name or before is None:
        return {} if before is not None else None
    session = db.session()
    with session.no_autoflush:
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
            members = session.scalars(select(Case.id).where(Case.parent_id == case.id))
            return Recount(session, cases={case.id, *members}, flush=False)
        kinds = unit_kinds({e[6] for e in events} | {ev.from_unit_id})
        was: Figures = {}
        will: Figures = {}
        case_figures(counted, events, extensions, rules, kinds, was)
        case_figures((*counted[:7], *new[7:]), [*events, row], extensions, rules, kinds, will)
        return difference(will, was)


def count_transition(figures: Figures | Recount | None) -> None:
    """Add what `transition_figures` found, once the transition is flushed."""
    if isinstance(figures, Recount):
        figures.finish()
    elif figures:
        add_figures(figures)


# -- every other use case: the rows it changes, counted before and after it ---------------------

FIGURE_COLUMNS = ("group_id", "category_id", "kind", "created_at", "parent_id", "resolved_unit_id", "state",
                  "deadline", "unit_id", "found_on")   # of a case: what its rows depend on
_RECOUNTING = "casetrack.figures.recounting"


def _recounting(session: Session) -> tuple[set[int], set[int]]:
    """The cases and targets an open recount of this transaction counts (entries of a
    transaction that ended are stale: ignored)."""
    transaction, cases, targets = session.info.get(_RECOUNTING, (None, set(), set()))
    return (cases, targets) if transaction is session.get_transaction() else (set(), set())


class Recount:
    """The rows of the existing cases and targets a use case changes, read before its change;
    `finish` reads them again once the change is flushed and adds the difference to the table.
    What the use case adds has no rows before: `new_cases`, `new_targets` and `visits` name it,
    to be counted after. A case an enclosing recount already counts is left to it, and while
    this one is open a transition of one of its cases leaves its counting to it."""

    def __init__(self, session: Session, cases: Iterable[int] = (), targets: Iterable[int] = (),
                 flush: bool = True):
        self.session = session
        if flush:   # what an earlier use case left pending is not this one's change
            session.flush()
        outer_cases, outer_targets = _recounting(session)
        self.case_ids = set(cases) - outer_cases
        self.target_ids = set(targets) - outer_targets
        self.added_cases: set[int] = set()
        self.added_targets: set[int] = set()
        self.added_visits: list[Visit] = []
        self.before: Figures = {}
        with session.no_autoflush:
            if self.case_ids:
                add_to(self.before, figures_of_cases(self.case_ids))
            if self.target_ids:
                add_to(self.before, figures_of_targets(sorted(self.target_ids)))
        session.info[_RECOUNTING] = (session.get_transaction(), outer_cases | self.case_ids,
                                     outer_targets | self.target_ids)

    def new_cases(self, ids: Iterable[int]) -> None:
        self.added_cases |= set(ids)

    def new_targets(self, ids: Iterable[int]) -> None:
        self.added_targets |= set(ids)

    def visits(self, visits: Iterable[Visit]) -> None:
        """New visits: their own rows, and those of the targets they reach, which the recount
        must have been given before they were added (a target new with them: `new_targets`)."""
        self.added_visits += visits

    def finish(self) -> None:
        """The rows after (flushed), the difference added to the table."""
        self.session.flush()
        self.release()
        with self.session.no_autoflush:
            after: Figures = {}
            cases = self.case_ids | self.added_cases
            if cases:
                add_to(after, figures_of_cases(cases))
            targets = self.target_ids | self.added_targets
            if targets:
                add_to(after, figures_of_targets(sorted(targets)))
            delta = difference(after, self.before)
            if self.added_visits:
                add_to(delta, figures_of_visits(sorted(v.id for v in self.added_visits)))
        add_figures(delta)

    def release(self) -> None:
        """This recount's cases and targets are no longer counted by it."""
        transaction, cases, targets = self.session.info.get(_RECOUNTING, (None, set(), set()))
        if transaction is self.session.get_transaction():
            self.session.info[_RECOUNTING] = (transaction, cases - self.case_ids, targets - self.target_ids)


@contextmanager
def recount(cases: Iterable[int] = (), targets: Iterable[int] = ()) -> Iterator[Recount]:
    """Around a use case's change of these cases and targets (ids): the difference it makes to
    their rows is added to the table when the block ends. A bulk writer wraps all its rows in one."""
    counted = Recount(db.session(), cases, targets)
    try:
        yield counted
    except BaseException:
        counted.release()
        raise
    counted.finish()


def count_filed(case: Case, filed: CaseEvent) -> None:
    """A case just filed (no parent, no members, no extension, only its filing event): its rows
    from the objects held, without a SELECT."""
    out: Figures = {}
    case_figures(case_row(case), [event_row(filed)], [], Rules(), {}, out)
    add_figures(out)


_TOGETHER = "casetrack.figures.together"


def add_figures(delta: Figures) -> None:
    """Add a difference to the table, at the latest with the COMMIT (its rows are every change's
    of the group that day: locked until then); inside `added_together`, once at its end."""
    session = db.session()
    together = session.info.get(_TOGETHER)
    if together is not None:
        add_to(together, delta)
        return
    rows = _rows(delta)
    if rows:
        conn = session.connection()
        write_at_commit(conn, _upsert(conn.dialect.name), rows)


@contextmanager
def added_together() -> Iterator[None]:
    """The figures of everything done in the block (an import's many filings) added by one write
    at its end."""
    session = db.session()
    if session.info.get(_TOGETHER) is not None:   # an enclosing block writes them
        yield
        return
    session.info[_TOGETHER] = together = {}
    try:
        yield
    finally:
        session.info.pop(_TOGETHER, None)
    add_figures(together)
