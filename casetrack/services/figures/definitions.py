"""What the bulletin's figures per work group and day (table daily_figures) are: pure
definitions over the history, and the queries that load it. Keeping the table in step with the
writes is `summaries` (the upkeep); this module writes nothing.

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
               visit's own target or one of its further targets (visit_targets): the coverage
  first_reach, first_own_visit  target kind  targets, active or not (a leader's place), first
               reached, and first visited as a visit's own target, that day (in their group now):
               targets reached and visited since the campaign began

  open_deadline  ''  open cases whose clock runs, by their deadline NOW (not a history: a case
               moves when its deadline, state or clock changes)

A shared problem's parent case counts only in `money`. "Open at the period's end" is
filed - closed summed over every day up to its end (a closed case stays closed); "open and
overdue at its end" is open_deadline summed over the days before it.
A case's rows are a pure function of the case, its state-changing events (and link actions),
its approved and pending extensions, whether it is a parent and its parent's resolving unit
(`case_figures`); the rows that depend on the case as it stands, not on its history, are
`standing_figures`, which is also all a plain move changes (`move_figures`).
"""
from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from sqlalchemy import (JSON, Select, String, bindparam, cast, exists, func, literal_column, or_, select, type_coerce,
                        union_all)
from sqlalchemy import case as sql_case
from sqlalchemy.orm import aliased

from casetrack.extensions import db
from casetrack.models import (PRINCIPAL_POSTS, Case, CaseEvent, Extension, Target, Unit, User, Visit, visit_cadres,
                              visit_targets)
from casetrack.models.cases import FEEDBACK
from casetrack.workflow.current import default_workflow
from casetrack.services.workdays.calendar import SHANGHAI, add_working_days

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
            deadlines: dict[tuple[date, int], date], wf=None) -> bool:
    """Whether an action on `acted` met the deadline of `state` (of `wf`, else the default
    workflow) entered on `entered` (a referral's own due date or an approved extension's new
    deadline if there is one); `deadlines` caches the working-day arithmetic for one computation."""
    if acted is None:
        return False
    if due:
        return acted <= as_day(due)
    spec = (wf or default_workflow()).states.get(state)
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
    group, is_parent, parent_level = case[1], case[5], case[6]

    def add(day: date, figure: str, detail: str = "", n: int = 1, funds: int = 0, donations: int = 0):
        row = out.setdefault((group, day, figure, detail), [0, 0, 0])
        row[0] += n
        row[1] += funds
        row[2] += donations

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
        if acted(ev):
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
    standing_figures(case, first_act, extensions, rules, out)


def standing_figures(case, first_act: datetime | None, extensions: list, rules: Rules, out: Figures) -> None:
    """Add the rows of one case that follow from it as it stands, not from its history: found,
    filed, its first action's day and its open deadline (`case`, `extensions`: as `case_figures`
    takes them; `first_act`: the moment of its first action, or None)."""
    _id, group, category, kind, created_at, is_parent, _level, state, deadline, unit, parent, found_on = case
    if is_parent:
        return
    filed = local_day(created_at)
    acted_on = local_day(first_act).isoformat() if first_act else ""
    rows = [(found_on or filed, "found", str(category)),
            (filed, "filed", ""),   # found without the category: fewer rows to sum from the start
            (filed, "first_act", f"{kind}|{filed.isoformat()}|{acted_on}")]
    # As it is now, not a history: an open case whose clock runs, by its deadline (the
    # rule of clock.running_clock): open and overdue at a day = these rows before it.
    if deadline is not None and state not in rules.final and state not in rules.paused \
            and parent is None and not any(x[0] == "pending" and (x[1], x[2]) == (state, unit)
                                           for x in extensions if rules.pause_pending):
        rows.append((deadline, "open_deadline", ""))
    for day, figure, detail in rows:
        out.setdefault((group, day, figure, detail), [0, 0, 0])[0] += 1


def acted(ev: tuple) -> bool:
    """An event (as `case_figures` takes it) is a person's action on the case: a move, or a link."""
    _i, _at, actor, trigger, src, dest, from_unit = ev[:7]
    return actor is not None and src is not None and from_unit is not None and (src != dest or trigger == "link")


def plain_move(ev: tuple, rules: Rules) -> bool:
    """A transition whose event adds no row of its own (none of resolutions, explanations,
    call-backs, closures, solved, money, feedback): all it can change are the rows of the case
    as it stands (`standing_figures`). Escalations, referrals, sending back or down, taking
    over, resuming are."""
    _i, _at, _actor, trigger, src, dest, from_unit, *_rest, data = ev
    return (src is not None and from_unit is not None and trigger != FEEDBACK
            and not ({dest} & (rules.resolved | rules.explained | rules.final))
            and not (src in rules.awaiting and dest not in rules.awaiting)
            and not rules.solves(trigger, src, dest, data))


def move_figures(before: tuple, after: tuple, ev: tuple, first_act: datetime | None, extensions: list,
                 rules: Rules) -> Figures:
    """The difference a plain move `ev` makes to a case's rows, from the case `before` and
    `after` it, the moment of its first action before it (or None) and its pending extensions."""
    first_after = first_act
    if acted(ev):
        first_after = ev[1] if first_act is None else min(first_act, ev[1])
    old: Figures = {}
    new: Figures = {}
    standing_figures(before, first_act, extensions, rules, old)
    standing_figures(after, first_after, extensions, rules, new)
    return difference(new, old)


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
    return in_time(r[4], local_day(p[1]), due, local_day(r[1]), rules.deadlines, rules.wf)


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
    if ids is None:
        kinds = dict(db.session.execute(select(Unit.id, Unit.kind)).all())
    else:   # a flush: the kinds of the units its cases' events came from
        loaded = list(loaded)
        kinds = unit_kinds({ev[6] for _c, events, _x in loaded for ev in events})
    for case, events, extensions in loaded:
        case_figures(case, events, extensions, rules, kinds, out)
    return out


def unit_kinds(ids: set[int | None]) -> dict[int, str]:
    ids = ids - {None}
    return dict(db.session.execute(select(Unit.id, Unit.kind).where(Unit.id.in_(ids))).all()) if ids else {}


def history_of(case_id: int, rules: Rules) -> tuple[tuple, list, list] | None:
    """A case of the campaign as `case_figures` takes it, (case, events, extensions), from the
    database; None for a case of another workflow (it has no figures)."""
    return next(load_cases([case_id], rules), None)


@functools.cache   # built once: every plain move runs it
def _standing_statement() -> Select:
    member, e, x = aliased(Case), CaseEvent, Extension
    case_id = bindparam("case_id")

    def pending(when: str):
        return exists().where(x.case_id == case_id, x.status == "pending",
                              x.state == bindparam(f"state_{when}"), x.unit_id == bindparam(f"unit_{when}"))
    first_act = select(func.min(e.at)).where(   # the rule of `acted`, in SQL
        e.case_id == case_id, e.actor_id.is_not(None), e.from_state.is_not(None), e.from_unit_id.is_not(None),
        or_(e.from_state != e.to_state, e.trigger == "link")).scalar_subquery()
    return select(exists().where(member.parent_id == case_id), first_act, pending("before"), pending("after"))


def standing_of(case_id: int, before: tuple[str, int], after: tuple[str, int]) -> tuple[bool, datetime | None, list]:
    """What `move_figures` needs of a case from the database, in one SELECT: whether it is a
    shared problem's parent, the moment of its first action, and its pending extensions asked
    for in the state and unit `before` and `after` (as `case_figures` takes extensions)."""
    is_parent, first_act, pending_before, pending_after = db.session.execute(_standing_statement(), {
        "case_id": case_id, "state_before": before[0], "unit_before": before[1],
        "state_after": after[0], "unit_after": after[1]}).one()
    extensions = [("pending", *key) for key, pending in ((before, pending_before), (after, pending_after)) if pending]
    return bool(is_parent), first_act, extensions


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
    and the day it was first reached (`first_visit` too if it is active) and first visited."""
    out: Figures = {}
    for chunk in _chunks(ids):
        for g, day, kind, n, suggestions in db.session.execute(
                select(Visit.group_id, Visit.visited_on, Target.kind, func.count(), func.sum(Visit.suggestions))
                .join(Target, Target.id == Visit.target_id).where(*_among(Target.id, chunk))
                .group_by(Visit.group_id, Visit.visited_on, Target.kind)):
            _add(out, (g, day, "visits", kind), n)
            _add(out, (g, day, "suggestions", ""), suggestions or 0)
        reached = union_all(   # (target, day, 1 for a visit's own target)
            select(Visit.target_id, Visit.visited_on, literal_column("1").label("own"))
            .where(*_among(Visit.target_id, chunk)),
            select(visit_targets.c.target_id, Visit.visited_on, literal_column("0"))
            .join(Visit, Visit.id == visit_targets.c.visit_id).where(*_among(visit_targets.c.target_id, chunk))
        ).subquery()
        # each target's first reach and first own visit, then counted by (group, kind, both days),
        # one query; the first reach of an active target is also the coverage's `first_visit`
        firsts = (select(Target.group_id, Target.kind, Target.active,
                         func.min(reached.c.visited_on).label("reach"),
                         func.min(sql_case((reached.c.own == 1, reached.c.visited_on))).label("own"))
                  .join(reached, reached.c.target_id == Target.id).where(*_among(Target.id, chunk))
                  .group_by(Target.id, Target.group_id, Target.kind, Target.active).subquery())
        for g, kind, active, reach, own, n in db.session.execute(
                select(firsts.c.group_id, firsts.c.kind, firsts.c.active, firsts.c.reach, firsts.c.own, func.count())
                .group_by(firsts.c.group_id, firsts.c.kind, firsts.c.active, firsts.c.reach, firsts.c.own)):
            reach = as_day(reach)
            _add(out, (g, reach, "first_reach", kind), n)
            if active:
                _add(out, (g, reach, "first_visit", kind), n)
            if own is not None:
                _add(out, (g, as_day(own), "first_own_visit", kind), n)
    return out


def _chunks(ids: list[int] | None) -> list[list[int] | None]:
    return [None] if ids is None else [ids[i:i + BATCH] for i in range(0, len(ids), BATCH)]


def _among(column, chunk: list[int] | None) -> list:
    return [] if chunk is None else [column.in_(chunk)]


def _add(out: Figures, key: Key, n: int) -> None:
    out.setdefault(key, [0, 0, 0])[0] += n


def difference(after: Figures, before: Figures) -> Figures:
    out = {k: list(v) for k, v in after.items()}
    for k, v in before.items():
        row = out.setdefault(k, [0, 0, 0])
        for i in range(3):
            row[i] -= v[i]
    return {k: v for k, v in out.items() if any(v)}


def case_row(case: Case) -> tuple:
    return (case.id, case.group_id, case.category_id, case.kind, case.created_at, False, None, case.state,
            case.deadline, case.unit_id, case.parent_id, case.found_on)


def event_row(ev: CaseEvent) -> tuple:
    data = ev.data or {}
    text = [None if data.get(k) is None else str(data[k]) for k in ("funds", "donations", "due_date")]
    return (ev.id, ev.at, ev.actor_id, ev.trigger, ev.from_state, ev.to_state, ev.from_unit_id, *text, data)


def add_to(out: Figures, figures: Figures) -> None:
    for k, v in figures.items():
        row = out.setdefault(k, [0, 0, 0])
        for i in range(3):
            row[i] += v[i]

