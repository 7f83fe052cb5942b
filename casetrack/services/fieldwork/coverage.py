"""Coverage (targets visited at least once / targets assigned) and the timetable's milestones.

A report is two queries grouped by work group and kind: targets assigned (an index range on
targets (group_id, active, kind)) and targets first visited by each day (a SUM over the daily
figures, services/figures/summaries.py); Python only adds up the few aggregate rows that come back
into teams, kinds and totals. Targets assigned are the active
targets now; "visited" means at least one visit on or before the as-of day.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import case, func, select, tuple_

from casetrack.extensions import db
from casetrack.models import VISIT_TARGET_KINDS, DailyFigure, Milestone, Target, Unit, User
from casetrack.services.workdays.calendar import now, parse_day, today
from casetrack.services.casework.cases import MAX_ID, whole_number
from casetrack.services.common.errors import Forbidden, NotFound, ValidationFailed
from casetrack.services.integration.sheets import workbook
from casetrack.services.fieldwork.targets import (COLUMNS, INFO_COLUMNS, KIND_LABELS, find_unit, group_ids_under,
                                        may_see_unit, visited_by)


@dataclass
class Tally:
    assigned: int = 0
    visited: int = 0

    @property
    def rate(self) -> float | None:
        return self.visited / self.assigned if self.assigned else None

    def json(self) -> dict[str, Any]:
        return {"assigned": self.assigned, "visited": self.visited, "rate": self.rate}


@dataclass
class Cell:
    """Targets assigned, and visited by each of the report's days."""
    assigned: int
    visited: list[int]

    def add(self, other: Cell) -> None:
        self.assigned += other.assigned
        self.visited = [a + b for a, b in zip(self.visited, other.visited)]


class Report:
    """A unit's coverage on some days, from two queries grouped by work group and kind.

    Teams, kinds and the unit's total are sums of those few aggregate rows (at most
    groups x kinds of them), never of targets.
    """

    def __init__(self, unit: Unit, days: list[date]):
        self.unit, self.days = unit, sorted(set(days))
        groups = group_ids_under(unit)
        cells: dict[tuple[int, str], Cell] = {}
        for group_id, kind, assigned in db.session.execute(
                select(Target.group_id, Target.kind, func.count())
                .where(Target.active.is_(True), Target.group_id.in_(groups))
                .group_by(Target.group_id, Target.kind)):
            cells[group_id, kind] = Cell(assigned, [0] * len(self.days))
        # Visited by a day: active targets whose first visit is on or before it (daily figures).
        f = DailyFigure
        columns = [func.sum(case((f.day <= day, f.n), else_=0)) for day in self.days]
        for group_id, kind, *visited in db.session.execute(
                select(f.group_id, f.detail, *columns)
                .where(f.figure == "first_visit", f.day <= self.days[-1], f.group_id.in_(groups))
                .group_by(f.group_id, f.detail)):
            cells.setdefault((group_id, kind), Cell(0, [0] * len(self.days))).visited = [
                int(v or 0) for v in visited]
        self.by_group: dict[int, Cell] = {}
        self.by_kind: dict[str, Cell] = {}
        self.total = Cell(0, [0] * len(self.days))
        for (group_id, kind), cell in cells.items():
            for table, key in ((self.by_group, group_id), (self.by_kind, kind)):
                table.setdefault(key, Cell(0, [0] * len(self.days))).add(cell)
            self.total.add(cell)

    def tally(self, cell: Cell | None, day: date) -> Tally:
        if cell is None:
            return Tally()
        return Tally(cell.assigned, cell.visited[self.days.index(day)])

    def teams(self, teams: list[Unit], groups: list[Unit]) -> dict[int, Cell]:
        """The cells of the teams, each the sum of its groups' cells."""
        out = {t.id: Cell(0, [0] * len(self.days)) for t in teams}
        for g in groups:
            if g.parent_id in out and g.id in self.by_group:
                out[g.parent_id].add(self.by_group[g.id])
        return out


def report(unit: Unit, as_of: date) -> tuple[Report, list[Milestone]]:
    """The report on `as_of` and on each milestone day already past, and the milestones."""
    stones = milestones_for(unit)
    past = [m.due_on for m in stones if m.due_on <= as_of and m.target_percent > 0]
    return Report(unit, [as_of] + past), stones


def coverage(unit: Unit, as_of: date, rep: tuple[Report, list[Milestone]] | None = None) -> dict[str, Any]:
    """The unit's coverage with its split by kind and its milestones' status."""
    rep_, stones = rep or report(unit, as_of)
    total = rep_.tally(rep_.total, as_of)
    return {**total.json(), "as_of": as_of.isoformat(), "unit": unit.code,
            "by_kind": {k: rep_.tally(rep_.by_kind[k], as_of).json()
                        for k in VISIT_TARGET_KINDS if k in rep_.by_kind},
            "milestones": milestone_status(stones, as_of,
                                           lambda day: rep_.tally(rep_.total, day).rate)}


def unit_and_day(user: User, args) -> tuple[Unit, date]:
    """The unit (`unit` code, default the user's own) and the day (`as_of`, default today) of
    a coverage query; a unit outside the user's scope is not found."""
    unit = find_unit(user, args["unit"]) if args.get("unit") else user.unit
    if unit is None or not may_see_unit(user, unit):
        raise NotFound(_("No such unit."))
    value = args.get("as_of")
    try:
        return unit, parse_day(value) if value else today()
    except ValueError:
        raise ValidationFailed({"as_of": _("A date like 2026-07-31, please.")}) from None


# -- the timetable -------------------------------------------------------------------------

def milestones_for(unit: Unit) -> list[Milestone]:
    """The timetable that applies to a unit: the nearest unit above it (or itself) that has one."""
    ids = [int(i) for i in unit.path.strip("/").split("/") if i]
    rows = list(db.session.scalars(select(Milestone).where(Milestone.unit_id.in_(ids))
                                   .order_by(Milestone.due_on)))
    for unit_id in reversed(ids):
        mine = [m for m in rows if m.unit_id == unit_id]
        if mine:
            return mine
    return []


def milestone_status(stones: list[Milestone], as_of: date,
                     rate_on: Callable[[date], float | None]) -> list[dict[str, Any]]:
    """Each milestone with its status for one unit; `rate_on(day)` is its rate on as_of or
    on a milestone day already past.

    Past: "met" if the rate on its day reached the target, else "behind". Ahead: "met" if the
    rate already reaches it; "on_track" if it is at least the straight line from the previous
    milestone (its day and target) to this one; "behind" otherwise. The first milestone has no
    line to follow: it is on track until its day (set a 0% milestone on the campaign's first day
    to pace it); a stage after the next one follows the status of the stage before it.
    """
    out = []
    rate = rate_on(as_of) or 0
    previous: Milestone | None = None
    for m in stones:
        if m.due_on <= as_of:
            reached = rate_on(m.due_on) if m.target_percent > 0 else 0
            status = "met" if (reached or 0) >= m.target - 1e-9 else "behind"
        elif rate >= m.target - 1e-9:
            status = "met"
        elif previous is None:
            status = "on_track"
        elif previous.due_on > as_of:  # not the next stage: as on track as the stage before it
            status = "behind" if out[-1]["status"] == "behind" else "on_track"
        else:
            span = (m.due_on - previous.due_on).days
            done = (as_of - previous.due_on).days
            expected = previous.target + (m.target - previous.target) * done / span
            status = "on_track" if rate >= expected - 1e-9 else "behind"
        out.append({"date": m.due_on.isoformat(), "target": m.target, "status": status})
        previous = m
    return out


def pace(stones: list[Milestone], day: date) -> float | None:
    """序时进度: the coverage the timetable asks for on `day`, on the straight line from one
    milestone to the next; 0 before the first (it has no line to follow), the last one's
    target after it; None without a timetable."""
    if not stones:
        return None
    before = [m for m in stones if m.due_on <= day]
    after = [m for m in stones if m.due_on > day]
    if not before:
        return 0.0
    last = before[-1]
    if not after:
        return last.target
    following = after[0]
    share = (day - last.due_on).days / (following.due_on - last.due_on).days
    return round(last.target + (following.target - last.target) * share, 4)


def current_status(statuses: list[dict[str, Any]], as_of: date) -> dict[str, Any] | None:
    """The milestone a unit is working toward: the next one due, else the last one."""
    ahead = [s for s in statuses if s["date"] > as_of.isoformat()]
    return ahead[0] if ahead else (statuses[-1] if statuses else None)


def breakdown(unit: Unit, as_of: date,
              rep: tuple[Report, list[Milestone]] | None = None) -> list[dict[str, Any]]:
    """One row per team (for a county) and per work group under the unit, with its status."""
    if unit.kind == "group":
        return []
    rep_, stones = rep or report(unit, as_of)
    units = list(db.session.scalars(select(Unit).where(
        Unit.path.startswith(unit.path), Unit.id != unit.id, Unit.kind.in_(("team", "group")),
        Unit.active.is_(True))
        .order_by(Unit.code)))
    teams = [u for u in units if u.kind == "team"]
    groups = [u for u in units if u.kind == "group"]
    cells = {**rep_.teams(teams, groups), **rep_.by_group}
    rows = []
    for u in teams + groups:
        cell = cells.get(u.id)
        statuses = milestone_status(stones, as_of,
                                    lambda day, cell=cell: rep_.tally(cell, day).rate)
        rows.append({"unit": u, "level": u.kind, **rep_.tally(cell, as_of).json(),
                     "milestones": statuses, "status": current_status(statuses, as_of)})
    return rows


def set_milestone(actor: User, due_on: Any, target_percent: Any) -> Milestone:
    """Add or change a stage of the timetable of the actor's county (the county office only)."""
    if actor.role != "county_officer" or not actor.active or actor.unit is None:
        raise Forbidden(_("Only the county office sets the timetable."))
    errors: dict[str, str] = {}
    day = None
    try:
        day = parse_day(due_on or "")
    except ValueError:
        errors["due_on"] = _("A date like 2026-07-31, please.")
    text = str(target_percent if target_percent is not None else "").strip().rstrip("%")
    if isinstance(target_percent, bool) or not whole_number(text) or not 0 <= int(text) <= 100:
        errors["target_percent"] = _("A whole percentage from 0 to 100, please.")
    if errors:
        raise ValidationFailed(errors, _("Please correct the marked fields."))
    stone = db.session.scalars(select(Milestone).where(Milestone.unit_id == actor.unit_id,
                                                       Milestone.due_on == day)).first()
    if stone is None:
        stone = Milestone(unit_id=actor.unit_id, due_on=day, created_by_id=actor.id, created_at=now())
        db.session.add(stone)
    stone.target_percent = int(text)
    db.session.flush()
    return stone


def delete_milestone(actor: User, milestone_id: int) -> None:
    stone = db.session.get(Milestone, milestone_id)
    if stone is None or actor.unit_id != stone.unit_id:
        raise NotFound(_("No such milestone."))
    if actor.role != "county_officer" or not actor.active:
        raise Forbidden(_("Only the county office sets the timetable."))
    db.session.delete(stone)
    db.session.flush()


# -- over time -----------------------------------------------------------------------------

def first_visits(unit: Unit) -> list[tuple[date, int]]:
    """How many of the unit's active targets were first visited on each day, in day order."""
    f = DailyFigure
    return [(day, int(n)) for day, n in db.session.execute(
        select(f.day, func.sum(f.n)).where(f.figure == "first_visit", f.group_id.in_(group_ids_under(unit)))
        .group_by(f.day).having(func.sum(f.n) != 0).order_by(f.day))]


# -- unvisited -----------------------------------------------------------------------------

UNVISITED_ORDER = (Target.group_id, Target.village, Target.name, Target.id)


def unvisited(unit: Unit, as_of: date, limit: int | None = None):
    """The unit's active targets not visited by `as_of`, by group, village and name."""
    stmt = _unvisited(unit, as_of).order_by(*UNVISITED_ORDER)
    if limit is not None:
        stmt = stmt.limit(limit)
    return db.session.scalars(stmt)


def _unvisited(unit: Unit, as_of: date):
    return select(Target).where(Target.active.is_(True), Target.group_id.in_(group_ids_under(unit)),
                                ~visited_by(as_of))


def unvisited_page(unit: Unit, as_of: date, after: Any, size: int) -> tuple[list[Target], int | None, int]:
    """One keyset page of the unvisited list (after the target `after`, in the list's order), the
    cursor of the next page (None at the end) and how many there are in all."""
    stmt = _unvisited(unit, as_of)
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    if after not in (None, ""):
        if not whole_number(str(after)) or int(after) > MAX_ID:
            raise ValidationFailed({"cursor": _("A whole number, please.")})
        key = db.session.execute(select(*UNVISITED_ORDER).where(Target.id == int(after))).first()
        if key is not None:
            stmt = stmt.where(tuple_(*UNVISITED_ORDER) > tuple_(*key))
    rows = list(db.session.scalars(stmt.order_by(*UNVISITED_ORDER).limit(size + 1)))
    return (rows[:size], rows[size - 1].id, total) if len(rows) > size else (rows, None, total)


def unvisited_xlsx(unit: Unit, as_of: date) -> bytes:
    """The unvisited list as .xlsx in the import layout (plus names), text kept as text."""
    rows = ([KIND_LABELS[t.kind]["zh"], t.name, t.address, t.village, t.group.code,
             t.cadre.username if t.cadre else "", t.code or "",
             "" if t.lat is None else t.lat, "" if t.long is None else t.long, t.group.name,
             t.cadre.name if t.cadre else ""] for t in unvisited(unit, as_of))
    return workbook("未走访", [h for h, _en in COLUMNS.values()] + list(INFO_COLUMNS), rows)
