"""Case lists: filters and keyset paging over the scoped query."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import joinedload, lazyload

from casetrack.extensions import db
from casetrack.models import CASE_KINDS, Case, CaseEvent, Category, Target, Unit, User
from casetrack.services.workdays.calendar import SHANGHAI, parse_day, today
from casetrack.services.casework.cases import ID_TAIL, MAX_ID, default_workflow, registry, scoped_cases, unit_filter, whole_number
from casetrack.services.figures.counted import counted_in
from casetrack.services.workdays.clock import running_clock
from casetrack.services.common.errors import ValidationFailed

TRUE, FALSE = ("true", "1", "yes"), ("false", "0", "no")
SWEEP_FLAGS = ("overdue", "pre_warning")  # the events of the sweep's flags
BOARD_ROWS = 10  # cases a board or inbox section lists; its figures count them all


@dataclass
class CaseFilters:
    state: str | None = None
    category: str | None = None
    kind: str | None = None
    unit: str | None = None
    overdue: bool | None = None
    due_soon: bool | None = None  # the deadline is near (pre-warning day reached), not passed
    flagged_at: datetime | None = None  # flagged (overdue or pre-warned) by the sweep run of that time
    held_by: str | None = None  # a unit code: the cases that unit holds now (not its subtree's)
    q: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    cursor: int | None = None
    limit: int | None = None
    counted: str | None = None  # a bulletin's figure: resolved, solved, explained or closed in counted_from..to
    counted_from: date | None = None
    counted_to: date | None = None
    level: str | None = None  # with counted=resolved or solved: the kind of unit that resolved it
    campaign: str | None = None  # a campaign's code: only its cases (none: every campaign's)

    @classmethod
    def from_args(cls, args) -> CaseFilters:
        """Read filters from query-string arguments; a bad value is refused, not ignored."""
        errors: dict[str, str] = {}
        f = cls(state=args.get("state") or None, category=args.get("category") or None,
                unit=args.get("unit") or None, held_by=args.get("held_by") or None,
                q=(args.get("q") or "").strip() or None)
        kind = args.get("kind") or None
        if kind and kind not in CASE_KINDS:
            errors["kind"] = _("Individual or shared, please.")
        f.kind = kind
        for name in ("overdue", "due_soon"):
            value = (args.get(name) or "").lower()
            if value:
                if value not in TRUE + FALSE:
                    errors[name] = _("true or false, please.")
                setattr(f, name, value in TRUE)
        if args.get("flagged_at"):
            try:
                moment = datetime.fromisoformat(args["flagged_at"])
                if moment.tzinfo is None:
                    raise ValueError("no time zone")
                f.flagged_at = moment.astimezone(timezone.utc)
            except (ValueError, OverflowError):
                errors["flagged_at"] = _("A time like 2026-06-10T00:05:00+00:00, please.")
        counted, level = args.get("counted") or None, args.get("level") or None
        if counted and counted not in ("resolved", "solved", "explained", "closed"):
            errors["counted"] = _("Resolved, solved, explained or closed, please.")
        if level and level not in ("group", "team", "county", "department"):
            errors["level"] = _("Group, team, county or department, please.")
        f.counted, f.level = counted, level
        if args.get("campaign"):
            from casetrack.services.organisation.campaigns import campaigns
            if args["campaign"] not in campaigns().by_code:
                errors["campaign"] = _("No such campaign.")
            f.campaign = args["campaign"]
        for name in ("date_from", "date_to", "counted_from", "counted_to"):
            if args.get(name):
                try:
                    setattr(f, name, parse_day(args[name]))
                except ValueError:
                    errors[name] = _("A date like 2026-07-31, please.")
        for name in ("cursor", "limit"):
            value = args.get(name)
            if value:
                if not whole_number(value) or int(value) < 1 or int(value) > MAX_ID:
                    errors[name] = _("A whole number, please.")
                else:
                    setattr(f, name, int(value))
        if errors:
            raise ValidationFailed(errors, _("Please correct the filters."))
        return f


def filtered_cases(user: User, f: CaseFilters, keyset: bool = True):
    stmt = scoped_cases(user, keyset)
    if f.campaign:
        stmt = stmt.where(Case.campaign == f.campaign)
    if f.state:
        stmt = stmt.where(Case.state == f.state)
    if f.category:
        stmt = stmt.where(Case.category_id == select(Category.id).where(
            Category.code == f.category).scalar_subquery())
    if f.kind:
        stmt = stmt.where(Case.kind == f.kind)
    if f.unit:
        unit = db.session.scalars(select(Unit).where(Unit.code == f.unit)).first()
        stmt = stmt.where(unit_filter(unit, keyset) if unit else Case.id.is_(None))
    held_by = select(Unit.id).where(Unit.code == f.held_by).scalar_subquery() if f.held_by else None
    if f.held_by:
        stmt = stmt.where(Case.unit_id == held_by)
    if f.overdue is not None:
        due = overdue()
        stmt = stmt.where(due if f.overdue else or_(Case.deadline.is_(None), ~due))
    if f.due_soon is not None:
        soon = due_soon()
        stmt = stmt.where(soon if f.due_soon else or_(Case.deadline.is_(None), Case.warn_on.is_(None), ~soon))
    if f.flagged_at:
        flagged = select(CaseEvent.case_id).where(CaseEvent.at == f.flagged_at, CaseEvent.trigger.in_(SWEEP_FLAGS))
        if f.held_by:
            # A digest's cases: flagged while the unit held them (a flag's event names the holder).
            # The run's other flags are then skipped at the event, not looked up as cases one by
            # one: a group's digest after a run of 32k flags took 28 ms a page, 13 ms without them.
            flagged = flagged.where(CaseEvent.to_unit_id == held_by)
        stmt = stmt.where(Case.id.in_(flagged))
    if f.q:
        stmt = stmt.where(matches(f.q))
    if f.counted:
        stmt = stmt.where(counted_in(f.counted, f.counted_from, f.counted_to, f.level))
    if f.date_from:
        stmt = stmt.where(Case.created_at >= _start_of(f.date_from))
    if f.date_to:
        stmt = stmt.where(Case.created_at < _start_of(f.date_to + timedelta(days=1)))
    return stmt


def matches(q: str):
    """Words in the title or description, or a resident's name, phone, address, village or the end
    of the ID card number.

    A phone is matched on its digits whatever spaces or dashes either side typed. Plain LIKE
    over a few columns of the scoped rows: at 20,000 cases a scan is a few milliseconds."""
    cols = (Case.title, Case.description, Case.resident_name, Case.resident_address)
    terms = [c.icontains(q, autoescape=True) for c in cols]
    terms.append(Case.target_id.in_(select(Target.id).where(Target.village.icontains(q, autoescape=True))))
    if ID_TAIL.fullmatch(q.strip()):   # the end of an ID card number, as typed
        terms.append(Case.resident_id_tail.endswith(q.strip().upper(), autoescape=True))
    digits = "".join(ch for ch in q if ch.isdigit())
    if len(digits) >= 4 and len(digits) >= len(q.replace(" ", "").replace("-", "")):
        phone = func.replace(func.replace(Case.resident_phone, " ", ""), "-", "")
        terms.append(phone.contains(digits))
    return or_(*terms)


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, SHANGHAI)


# What a row of the case list shows of a case: the unit holding it, not the unit's parents nor
# the category and group (with its parents) that Case loads eagerly elsewhere. Those made the
# page's query ten joins for PostgreSQL to plan (4-16 ms a page) and built ORM objects for
# every distinct group's chain of parents, which grows with the number of groups.
LIST_ROW = (joinedload(Case.unit).lazyload(Unit.parent), lazyload(Case.group), lazyload(Case.category))


def list_cases(user: User, f: CaseFilters, *options) -> tuple[list[Case], int | None]:
    """One page of cases, newest first, and the cursor of the next page (None at the end);
    `options` load what the caller shows of each case (e.g. selectinload), in one query each."""
    size = min(f.limit or current_app.config["PAGE_SIZE"], 200)
    stmt = filtered_cases(user, f)
    if f.cursor:
        stmt = stmt.where(Case.id < f.cursor)
    # The page's ids first, then their rows: where no index gives the order (a group's list is
    # `group_id = g OR unit_id = g`, two index ranges), SQLite sorts ids, not whole rows.
    page = stmt.with_only_columns(Case.id).order_by(Case.id.desc()).limit(size + 1)
    rows = list(db.session.scalars(select(Case).where(Case.id.in_(page)).order_by(Case.id.desc())
                                   .options(*options)))
    if len(rows) > size:
        return rows[:size], rows[size - 1].id
    return rows, None


def count_cases(user: User, f: CaseFilters) -> int:
    """How many cases the filters match in the user's scope (the cursor aside), counted no
    further than LIST_COUNT_LIMIT + 1: past it the list says "more than", as a count of a
    province's millions took 1.5-2 s a page, each page."""
    matched = filtered_cases(user, f, keyset=False).with_only_columns(Case.id).limit(
        current_app.config["LIST_COUNT_LIMIT"] + 1)
    return db.session.scalar(select(func.count()).select_from(matched.subquery())) or 0


# -- inbox and boards ----------------------------------------------------------------------

def overdue():
    """True for a case whose deadline (Asia/Shanghai) has passed while its clock runs."""
    return and_(Case.deadline < today(), running_clock(default_workflow()))


def due_soon():
    """True for a case whose pre-warning day has come and deadline not passed, clock running."""
    day = today()
    return and_(Case.warn_on <= day, Case.deadline >= day, running_clock(default_workflow()))


def acting_states(role: str) -> list[str]:
    """The states in which this role has a transition it may fire, by the default workflow and
    the own workflow of every other campaign (their states are named apart)."""
    from casetrack.services.organisation.campaigns import campaigns
    flows = [default_workflow()] + [registry().latest(c.workflow) for c in campaigns().by_code.values()
                                    if c.workflow != default_workflow().name]
    return list(dict.fromkeys(s for wf in flows for t in wf.transitions if role in t.roles for s in t.sources))


def open_states() -> list[str]:
    return [s.name for s in default_workflow().states.values() if not s.final]


def explained_cases(user: User):
    """The query of the cases in a state that comes back on a date (explained); list them with
    `section(stmt, order=REVISIT_ORDER)`, next date first."""
    states = list(default_workflow().revisit_states())
    return scoped_cases(user).where(Case.state.in_(states))


REVISIT_ORDER = (Case.revisit_on.is_(None), Case.revisit_on, Case.id)


def referred_by_teams(user: User):
    """The query of the cases a team referred straight to a department (the last move into the
    department's state came from a team)."""
    wf = default_workflow()
    referred, team_state = wf.level_state("department"), wf.level_state("team")
    last_in = (select(func.max(CaseEvent.id)).where(CaseEvent.case_id == Case.id, CaseEvent.to_state == referred,
                                                    CaseEvent.from_state != referred)
               .correlate(Case).scalar_subquery())
    from_team = select(CaseEvent.id).where(CaseEvent.id == last_in, CaseEvent.from_state == team_state).exists()
    return scoped_cases(user).where(Case.state == referred, from_team)


def by_urgency(stmt, limit: int = 200) -> list[Case]:
    """The cases of a query, overdue first, then by deadline, then oldest first."""
    order = (case((overdue(), 0), else_=1), Case.deadline.is_(None), Case.deadline, Case.id)
    return list(db.session.scalars(stmt.order_by(*order).limit(limit)))


def due_this_week():
    """True for a case due from today to Sunday (Asia/Shanghai), clock running."""
    day = today()
    return and_(Case.deadline >= day, Case.deadline <= day + timedelta(days=6 - day.weekday()),
                running_clock(default_workflow()))


@dataclass
class Section:
    """A board's list: its figures counted by the database, and its most urgent few cases."""
    total: int
    overdue: int
    due_this_week: int
    cases: list[Case]


def section(stmt, limit: int = BOARD_ROWS, order: tuple | None = None) -> Section:
    """The figures of a case query and its `limit` most urgent cases (or first by `order`); the
    rest are one link away."""
    figures = db.session.execute(stmt.with_only_columns(
        func.count(Case.id), func.sum(case((overdue(), 1), else_=0)),
        func.sum(case((due_this_week(), 1), else_=0)))).one()
    total, late, week = (n or 0 for n in figures)
    if not total:
        return Section(total, late, week, [])
    rows = by_urgency(stmt, limit) if order is None \
        else list(db.session.scalars(stmt.order_by(*order).limit(limit)))
    return Section(total, late, week, rows)


def waiting_for(user: User, states: list[str] | None = None):
    """The query of the cases my unit holds in a state where my role may act (see `section`)."""
    states = acting_states(user.role) if states is None else states
    stmt = scoped_cases(user).where(Case.unit_id == user.unit_id, Case.state.in_(states))
    resting = list(default_workflow().revisit_states())
    if resting:  # an explained case comes back on its revisit day
        stmt = stmt.where(or_(Case.state.not_in(resting), Case.revisit_on.is_(None),
                              Case.revisit_on <= today()))
    return stmt


def state_counts(stmt, *by) -> list[tuple]:
    """(…by, state, count, overdue count) rows of a case query, counted by the database."""
    cols = (*by, Case.state)
    rows = db.session.execute(stmt.with_only_columns(
        *cols, func.count(Case.id), func.sum(case((overdue(), 1), else_=0))).group_by(*cols))
    return [tuple(r) for r in rows]


def team_board(user: User) -> tuple[list[Unit], dict[tuple[int, str], tuple[int, int]]]:
    """The groups of my team and their open cases counted by (group id, state)."""
    team = user.unit
    groups = list(db.session.scalars(select(Unit).where(Unit.parent_id == team.id,
                                                        Unit.kind == "group").order_by(Unit.code)))
    stmt = scoped_cases(user).where(Case.state.in_(open_states()))
    counts = {(g, s): (n, late or 0) for g, s, n, late in state_counts(stmt, Case.group_id)}
    return groups, counts


def units_in_scope(user: User) -> list:
    """The units a user may filter the case list by: those below their own unit, as (code, name)
    rows (a province office has thousands: no ORM objects with their parents for a menu)."""
    if user.unit is None:
        return []
    return list(db.session.execute(select(Unit.code, Unit.name).where(
        Unit.path.startswith(user.unit.path), Unit.id != user.unit_id).order_by(Unit.path)))
