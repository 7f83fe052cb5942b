"""The bulletin's figures per work group and day (table daily_figures), kept in the same
transaction as the cases, events, visits and targets they count.

Every figure is a row (group_id, day, figure, detail) -> n, funds, donations, so a period's
figure for any unit is a SUM over an index range. What a row holds:

  found        category   cases found that day (by Case.found_on, the visit's day); filed: cases
               filed that day (by Case.created_at), all categories
  first_act    kind|filed|acted   cases filed that day, by the day of their first action (a
               person's move or link; '' when none yet): the first-response rate
  resolutions, resolved (detail: the level that resolved it, first resolutions only: 办结),
               solved (detail: the level of its last resolution; the first transition the
               workflow says `counts_as: solved`, the office's verification: 核实解决), explained
               (first explanations), callback (satisfied | reworked), closed, on_time (closures
               whose last resolution met its deadline), money (funds and donations of every
               resolution, a shared problem's own too)
  answered, told  a case closed (on its closure's day) or else explained (on its first
               explanation's day); told: the same if the filing group recorded telling the
               resident (a feedback event) after the answer it was closed or explained with
  visits       target kind     visits made that day (by the target's kind now); suggestions
  cadre        role            cadres on the visits of that day, by the role they have when the
               visit is recorded (a later change of a user's role moves nothing until a rebuild)
  post         post            the same, by the post of those who hold one (person-times by post)
  principal    ''              visits with a principal leader of city or county among the cadres
  first_visit  target kind     active targets first reached that day (in their group now), as a
               visit's own target or one of its further targets (visit_targets)

  open_deadline  ''  open cases whose clock runs, by their deadline NOW (not a history: a case
               moves when its deadline, state or clock changes)

A shared problem's parent case counts only in `money`. "Open at the period's end" is
filed - closed summed over every day up to its end (a closed case stays closed); "open and
overdue at its end" is open_deadline summed over the days before it.

How the rows stay exact: a case's rows are a pure function of the case, its state-changing
events (and link actions), whether it is a parent and its parent's resolving unit
(`case_figures`). The first flush of a transaction that touches a case reads its rows from
the database (a case new in the transaction has none); before the commit the rows of every
case touched are computed once more and the difference is added, in the same transaction
(`Notes`). A case filed in the transaction and left as filed gets its rows from the objects
the session holds, without a SELECT. The same for the targets touched (their visits' rows and
first visit); a new visit adds its cadre rows. A rollback drops the notes; a savepoint rolled
back may leave some, harmlessly (the rows after are read from the database). `rebuild()`
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
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from sqlalchemy import JSON, Select, String, cast, delete, event, exists, func, inspect, select, type_coerce, union_all
from sqlalchemy import case as sql_case
from sqlalchemy.orm import Session, aliased

from casetrack.db.at_commit import write_at_commit
from casetrack.extensions import db
from casetrack.models import (PRINCIPAL_POSTS, Case, CaseEvent, DailyFigure, Extension, Target, Unit, User, Visit,
                              visit_cadres, visit_targets)
from casetrack.models.cases import FEEDBACK
from casetrack.services.workdays.calendar import SHANGHAI, add_working_days
from casetrack.workflow.current import default_workflow

Key = tuple[int, date, str, str]
Figures = dict[Key, list[int]]   # key -> [n, funds, donations]
BATCH = 500


def local_day(moment: datetime) -> date:
    return moment.astimezone(SHANGHAI).date()


def hundredths(value: Any) -> int:
    """A money field of an event (万元, text or number) in hundredths; 0 when absent."""
    if value in (None, ""):
        return 0
    try:
        return int((Decimal(str(value)) * 100).to_integral_value(ROUND_HALF_UP))
    except InvalidOperation:
        return 0


def as_day(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def in_time(state: str, entered: date | None, due: Any, acted: date | None,
            deadlines: dict[tuple[date, int], date]) -> bool:
    """Whether an action on `acted` met the deadline of `state` entered on `entered` (a
    referral's own due date or an approved extension's new deadline if there is one);
    `deadlines` caches the working-day arithmetic for one computation."""
    if acted is None:
        return False
    if due:
        return acted <= as_day(due)
    spec = default_workflow().states.get(state)
    if spec is None or not spec.deadline_days or entered is None:
        return True
    key = (entered, spec.deadline_days)
    if key not in deadlines:
        deadlines[key] = add_working_days(*key)
    return acted <= deadlines[key]


class Rules:
    """What the figures need of the workflow, and a cache of deadline arithmetic."""

    def __init__(self):
        wf = default_workflow()
        self.wf = wf
        self.final = {s.name for s in wf.states.values() if s.final}
        self.resolved = {s.name for s in wf.states.values() if s.remember == "resolver"}
        # awaiting a call-back: resolved, or handed down for someone else to make the call
        self.awaiting = self.resolved | {s.name for s in wf.states.values() if s.awaits_callback}
        self.explained = wf.explained_states()
        self.filing = wf.filing_states
        self.paused = {s.name for s in wf.states.values() if s.pauses_clock}
        self.pause_pending = bool(wf.extensions and wf.extensions.pause_while_pending)
        self.deadlines: dict[tuple[date, int], date] = {}
        self.solving = wf.counting("solved")
        self.flags = sorted({t.flag for t in wf.transitions if t.flag})
        # the events whose data a figure reads (the `when` of a transition that counts as solved,
        # a transition's flag)
        self.read_data = tuple(sorted({t.trigger for t in self.solving}
                                      | {t.trigger for t in wf.transitions if t.flag} | {FEEDBACK}))

    def solves(self, trigger: str, src: str, dest: str, data: dict | None) -> bool:
        """Whether an event is a transition the workflow counts as solved (`counts_as: solved`)."""
        return any(t.trigger == trigger and src in t.sources and (t.dest is None or t.dest == dest)
                   and t.matches(data or {}) for t in self.solving)

    def callback(self, trigger: str, src: str, dest: str, data: dict | None) -> str:
        """A call-back's outcome as counted: satisfied (it counts as solved), a transition's flag
        (counted apart: closed as unreachable), reworked (reopened) or closed (otherwise)."""
        if self.solves(trigger, src, dest, data):
            return "satisfied"
        flag = next((f for f in self.flags if (data or {}).get(f) is True), None)
        if flag:
            return f"flag:{flag}"
        return "closed" if dest in self.final else "reworked"


# -- one case --------------------------------------------------------------------------------

def case_figures(case, events: list, extensions: list, rules: Rules, kinds: dict[int, str],
                 out: Figures) -> None:
    """Add the rows of one case to `out`. `case`: (id, group_id, category_id, kind, created_at,
    is_parent, parent_level, state, deadline, unit_id, parent_id, found_on); `events`: its events by id,
    (id, at, actor_id, trigger, from_state, to_state, from_unit_id, funds, donations, due_date,
    data: only for the triggers `rules.read_data` names, else None);
    `extensions`: its approved and pending ones, (status, state, unit_id, requested_at,
    decided_at, new_deadline)."""
    _id, group, category, kind, created_at, is_parent, parent_level, state, deadline, unit, parent, found_on = case

    def add(day: date, figure: str, detail: str = "", n: int = 1, funds: int = 0, donations: int = 0):
        row = out.setdefault((group, day, figure, detail), [0, 0, 0])
        row[0] += n
        row[1] += funds
        row[2] += donations

    filed = local_day(created_at)
    reached: set[str] = set()
    moves = []          # the state-changing events (and the filing), for on-time closures
    first_act = None
    level = None                 # the kind of unit of the last resolution
    answer = 0                   # the id of the last move into a resolved or explained state
    closure = explained = None   # (day, answer) of the closure and of the first explanation
    solved = False
    told: list[int] = []         # the ids of the feedback events
    for ev in events:
        i, at, actor, trigger, src, dest, from_unit, funds, donations, _due, data = ev
        first = dest not in reached
        reached.add(dest)
        if src is None or src != dest:
            moves.append(ev)
        if src is None or from_unit is None:
            continue
        if actor is not None and (src != dest or trigger == "link"):
            first_act = at if first_act is None else min(first_act, at)
        if trigger == FEEDBACK:
            told.append(i)
        if src == dest:
            continue
        day = local_day(at)
        if dest in rules.resolved:
            add(day, "money", "", 0, hundredths(funds), hundredths(donations))
        if is_parent:
            continue
        if dest in rules.resolved or dest in rules.explained:
            answer = i
        if dest in rules.resolved:
            add(day, "resolutions")
            level = parent_level if actor is None and parent_level else kinds.get(from_unit, "")
            if first:
                add(day, "resolved", level)
        if not solved and rules.solves(trigger, src, dest, data):
            solved = True
            add(day, "solved", level or kinds.get(from_unit, ""))
        if dest in rules.explained and src not in rules.explained and first:
            add(day, "explained")
            explained = (day, answer)
        if src in rules.awaiting and dest not in rules.awaiting:
            add(day, "callback", rules.callback(trigger, src, dest, data))
        if dest in rules.final:
            closure = (day, answer)
            add(day, "closed")
            if closed_on_time(moves, extensions, rules):
                add(day, "on_time")
    if not is_parent and (closure or explained):
        day, after = closure or explained
        add(day, "answered")
        if any(i > after for i in told):
            add(day, "told")
    if not is_parent:
        add(found_on or filed, "found", str(category))
        add(filed, "filed")   # found without the category: fewer rows to sum from the start
        acted = local_day(first_act).isoformat() if first_act else ""
        add(filed, "first_act", f"{kind}|{filed.isoformat()}|{acted}")
        # As it is now, not a history: an open case whose clock runs, by its deadline (the
        # rule of clock.running_clock): open and overdue at a day = these rows before it.
        if deadline is not None and state not in rules.final and state not in rules.paused \
                and parent is None and not any(x[0] == "pending" and (x[1], x[2]) == (state, unit)
                                               for x in extensions if rules.pause_pending):
            add(deadline, "open_deadline")


def closed_on_time(moves: list, extensions: list, rules: Rules) -> bool:
    """The closure (the last of `moves`): did its last resolution meet the deadline of the state
    it resolved from, entered by the move before it (a referral's due date, or an extension
    approved before the resolution and asked for in that state)?"""
    resolutions = [i for i, ev in enumerate(moves[:-1]) if ev[5] in rules.resolved]
    if not resolutions or resolutions[-1] == 0:
        return False
    r, p = moves[resolutions[-1]], moves[resolutions[-1] - 1]
    extended = [new for status, state, _unit, requested, decided, new in extensions
                if status == "approved" and state == r[4] and decided is not None and decided < r[1]
                and requested >= p[1]]
    due = max(extended) if extended else p[9]
    return in_time(r[4], local_day(p[1]), due, local_day(r[1]), rules.deadlines)


@functools.cache   # building these (aliases, JSON paths) costs more than running them for one case
def _statements(read_data: tuple[str, ...]) -> tuple[Select, Select, Select]:
    parent, parent_unit, member = aliased(Case), aliased(Unit), aliased(Case)
    cases = (select(Case.id, Case.group_id, Case.category_id, Case.kind, Case.created_at,
                    exists().where(member.parent_id == Case.id), parent_unit.kind,
                    Case.state, Case.deadline, Case.unit_id, Case.parent_id, Case.found_on)
             .outerjoin(parent, parent.id == Case.parent_id)
             .outerjoin(parent_unit, parent_unit.id == parent.resolved_unit_id).order_by(Case.id))
    e = CaseEvent
    events = select(e.case_id, e.id, e.at, e.actor_id, e.trigger, e.from_state, e.to_state, e.from_unit_id,
                    e.data["funds"].as_string(), e.data["donations"].as_string(),
                    e.data["due_date"].as_string(),
                    # the whole data of the few events a figure reads it of: parsing every event's
                    # would cost a rebuild more than the rest of it
                    type_coerce(sql_case((e.trigger.in_(read_data), e.data), else_=None), JSON)
                    ).order_by(e.case_id, e.id)
    extensions = select(Extension.case_id, Extension.status, Extension.state, Extension.unit_id,
                        Extension.requested_at, Extension.decided_at, cast(Extension.new_deadline, String)
                        ).where(Extension.status.in_(("approved", "pending")))
    return cases, events, extensions


def load_cases(ids: Iterable[int] | None, rules: Rules) -> Iterator[tuple[tuple, list, list]]:
    """(case, events, extensions) as `case_figures` takes them, from the database: the given
    cases, or every case (streamed in id order)."""
    cases, events, extensions = _statements(rules.read_data)
    # The campaign's problems only: a case of another workflow (信访积案) has figures of its own.
    cases = cases.where(Case.workflow == default_workflow().name)
    e = CaseEvent
    if ids is not None:
        ids = sorted(set(ids))
        for i in range(0, len(ids), BATCH):
            chunk = ids[i:i + BATCH]
            yield from _merge(db.session.execute(cases.where(Case.id.in_(chunk))),
                              db.session.execute(events.where(e.case_id.in_(chunk))),
                              db.session.execute(extensions.where(Extension.case_id.in_(chunk))))
        return
    yield from _merge(db.session.execute(cases.execution_options(yield_per=20_000)),
                      db.session.execute(events.execution_options(yield_per=50_000)),
                      db.session.execute(extensions))


def _merge(cases, events, extensions) -> Iterator[tuple[tuple, list, list]]:
    try:   # streamed results (server-side cursors on PostgreSQL) are closed even when not read
        yield from _merged(cases, iter(events), extensions)
    finally:
        cases.close()
        events.close()


def _merged(cases, events, extensions) -> Iterator[tuple[tuple, list, list]]:
    by_case: dict[int, list] = defaultdict(list)
    for case_id, *row in extensions:
        by_case[case_id].append(tuple(row))
    pending = None
    for case in cases:
        rows = []
        if pending is not None and pending[0] < case[0]:   # an event of a case not counted
            pending = None
        if pending is not None and pending[0] == case[0]:
            rows.append(pending[1:])
            pending = None
        if pending is None:
            for ev in events:
                if ev[0] == case[0]:
                    rows.append(tuple(ev[1:]))
                elif ev[0] > case[0]:
                    pending = tuple(ev)
                    break
        yield tuple(case), rows, by_case.get(case[0], [])


def figures_of_cases(ids: Iterable[int] | None) -> Figures:
    rules, out = Rules(), {}
    loaded = load_cases(ids, rules)
    units = select(Unit.id, Unit.kind)
    if ids is not None:   # a flush: the kinds of the units its cases' events came from
        loaded = list(loaded)
        from_units = {ev[6] for _c, events, _x in loaded for ev in events} - {None}
        units = units.where(Unit.id.in_(from_units)) if from_units else None
    kinds = dict(db.session.execute(units).all()) if units is not None else {}
    for case, events, extensions in loaded:
        case_figures(case, events, extensions, rules, kinds, out)
    return out


# -- visits and targets ---------------------------------------------------------------------

def figures_of_visits(ids: list[int] | None) -> Figures:
    """cadre and post rows (cadres on visits, by their role and post) and principal rows (visits
    with a principal leader) of the given visits (or all), in SQL."""
    out: Figures = {}
    for chunk in _chunks(ids):
        for g, day, role, post, n in db.session.execute(
                select(Visit.group_id, Visit.visited_on, User.role, User.post, func.count())
                .join(visit_cadres, visit_cadres.c.visit_id == Visit.id)
                .join(User, User.id == visit_cadres.c.user_id).where(*_among(Visit.id, chunk))
                .group_by(Visit.group_id, Visit.visited_on, User.role, User.post)):
            _add(out, (g, day, "cadre", role), n)
            if post:
                _add(out, (g, day, "post", post), n)
        principal = exists().where(visit_cadres.c.visit_id == Visit.id, User.id == visit_cadres.c.user_id,
                                   User.post.in_(PRINCIPAL_POSTS))
        for g, day, n in db.session.execute(
                select(Visit.group_id, Visit.visited_on, func.count()).where(principal, *_among(Visit.id, chunk))
                .group_by(Visit.group_id, Visit.visited_on)):
            _add(out, (g, day, "principal", ""), n)
    return out


def figures_of_targets(ids: list[int] | None) -> Figures:
    """The rows of the given targets (or all): their visits and suggestions by the target's kind,
    and, for an active target, its first visit's day in its group."""
    out: Figures = {}
    for chunk in _chunks(ids):
        for g, day, kind, n, suggestions in db.session.execute(
                select(Visit.group_id, Visit.visited_on, Target.kind, func.count(), func.sum(Visit.suggestions))
                .join(Target, Target.id == Visit.target_id).where(*_among(Target.id, chunk))
                .group_by(Visit.group_id, Visit.visited_on, Target.kind)):
            _add(out, (g, day, "visits", kind), n)
            _add(out, (g, day, "suggestions", ""), suggestions or 0)
        reached = union_all(
            select(Visit.target_id, Visit.visited_on).where(*_among(Visit.target_id, chunk)),
            select(visit_targets.c.target_id, Visit.visited_on).join(Visit, Visit.id == visit_targets.c.visit_id)
            .where(*_among(visit_targets.c.target_id, chunk))).subquery()
        first = (select(Target.group_id, Target.kind, func.min(reached.c.visited_on).label("day"))
                 .join(reached, reached.c.target_id == Target.id)
                 .where(Target.active.is_(True), *_among(Target.id, chunk))
                 .group_by(Target.id, Target.group_id, Target.kind).subquery())
        for g, kind, day, n in db.session.execute(
                select(first.c.group_id, first.c.kind, first.c.day, func.count())
                .group_by(first.c.group_id, first.c.kind, first.c.day)):
            _add(out, (g, day, "first_visit", kind), n)
    return out


def _chunks(ids: list[int] | None) -> list[list[int] | None]:
    return [None] if ids is None else [ids[i:i + BATCH] for i in range(0, len(ids), BATCH)]


def _among(column, chunk: list[int] | None) -> list:
    return [] if chunk is None else [column.in_(chunk)]


def _add(out: Figures, key: Key, n: int) -> None:
    out.setdefault(key, [0, 0, 0])[0] += n


# -- writing ---------------------------------------------------------------------------------

def difference(after: Figures, before: Figures) -> Figures:
    out = {k: list(v) for k, v in after.items()}
    for k, v in before.items():
        row = out.setdefault(k, [0, 0, 0])
        for i in range(3):
            row[i] -= v[i]
    return {k: v for k, v in out.items() if any(v)}


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
        _add_to(out, figures)
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
            _add_to(self.before, figures_of_cases(fresh))

    def note_targets(self, ids: set[int]) -> None:
        self.absorb_new()
        fresh = ids - self.targets
        if fresh:
            self.targets |= fresh
            _add_to(self.before, figures_of_targets(sorted(fresh)))

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
                case_figures(_case_row(case), [_event_row(ev) for ev in self.new_cases[case]], [], rules, {}, out)
        rest = self.cases - {c.id for c in plain}
        if rest:
            _add_to(out, figures_of_cases(rest))
        if self.targets:
            _add_to(out, figures_of_targets(sorted(self.targets)))
        return out

    def delta(self) -> Figures:
        delta = difference(self.after(), self.before)
        visits = sorted({v.id for v in self.visits if inspect(v).persistent})
        if visits:
            _add_to(delta, figures_of_visits(visits))
        return delta


def _is_plain(case: Case, events: list[CaseEvent], touched: set[int]) -> bool:
    """A case filed in this transaction and left as filed: its rows follow from the objects held
    (no parent, no members, no extension, only its filing event), without a SELECT."""
    return (inspect(case).persistent and case.id not in touched and case.parent_id is None
            and len(events) == 1 and events[0].from_state is None and inspect(events[0]).persistent)


def _case_row(case: Case) -> tuple:
    return (case.id, case.group_id, case.category_id, case.kind, case.created_at, False, None, case.state,
            case.deadline, case.unit_id, case.parent_id, case.found_on)


def _event_row(ev: CaseEvent) -> tuple:
    data = ev.data or {}
    text = [None if data.get(k) is None else str(data[k]) for k in ("funds", "donations", "due_date")]
    return (ev.id, ev.at, ev.actor_id, ev.trigger, ev.from_state, ev.to_state, ev.from_unit_id, *text, data)


def _add_to(out: Figures, figures: Figures) -> None:
    for k, v in figures.items():
        row = out.setdefault(k, [0, 0, 0])
        for i in range(3):
            row[i] += v[i]


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
    for obj in session.new:
        if isinstance(obj, CaseEvent):
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
