"""Assessment and rankings (考核): a month's score, rank and 红黄绿灯 of every team, group and
department, by the weighted indicators of workflows/assessment.yaml.

Teams and groups: the bulletin's Tallies over the month (daily figures summed per work group)
and the coverage report; departments: three GROUP BY queries over the events of the month and
one over the cases they hold. Python adds up the aggregate rows; it never walks cases. Units are
ranked within their kind over the whole county (the top of the unit's tree), so a team leader
sees its team's and groups' county ranks; only the rows of the asked unit's subtree are given.
"""
from __future__ import annotations

from calendar import monthrange
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Date, and_, cast, func, select
from sqlalchemy.orm import aliased

from casetrack.extensions import db
from casetrack.models import Case, CaseEvent, Extension, Unit, User
from casetrack.services.reports import bulletin as bl
from casetrack.services.fieldwork import coverage as cov
from casetrack.services.workdays.calendar import today
from casetrack.services.casework.cases import default_workflow
from casetrack.services.workdays.clock import running_clock
from casetrack.services.common.errors import NotFound, ValidationFailed
from casetrack.services.fieldwork.targets import may_see_unit
from casetrack.workflow import KEEP
from casetrack.workflow.assessment import INDICATORS, KIND_INDICATORS, Assessment

KINDS = ("team", "group", "department")
CADRE_ROLES = ("group_member", "group_leader", "team_leader")
LABELS = {"coverage": _l("Coverage against the timetable pace"), "on_time_closure": _l("On-time closure rate"),
          "satisfaction": _l("Satisfaction rate"), "feedback": _l("Feedback rate"),
          "visits_per_cadre": _l("Visits per cadre"), "overdue": _l("Overdue share of open cases"),
          "rework": _l("Rework rate"), "returns": _l("Return rate")}
STATUS_LABELS = {"green": _l("Green"), "yellow": _l("Yellow"), "red": _l("Red")}
KIND_LABELS = {"team": _l("Work teams"), "group": _l("Work groups"), "department": _l("County departments")}


def rules() -> Assessment:
    return current_app.extensions["casetrack.assessment"]


@dataclass
class Row:
    """One unit's month: each indicator's value with its numerator and denominator, its score."""
    unit: Unit
    parts: dict[str, tuple[float, float]] = field(default_factory=dict)
    values: dict[str, float | None] = field(default_factory=dict)
    scores: dict[str, float] = field(default_factory=dict)
    score: float | None = None
    rank: int = 0
    status: str = "yellow"
    extra: dict[str, Any] = field(default_factory=dict)   # figures shown, not scored (pace, referrals)

    def json(self) -> dict[str, Any]:
        u = self.unit
        return {"code": u.code, "name": u.name, "kind": u.kind, "parent": u.parent.code if u.parent else None,
                "score": self.score, "rank": self.rank, "status": self.status,
                "indicators": {**self.values, **self.extra},
                "figures": {k: list(v) for k, v in self.parts.items()}}


# -- the month and the unit ----------------------------------------------------------------

def parse_month(value: str | None) -> tuple[date, date]:
    """A month `YYYY-MM` (default this one): its first day and its last, or today if it is
    still running."""
    now = today()
    if not value:
        year, month = now.year, now.month
    else:
        parts = value.split("-")
        if len(parts) != 2 or not all(p.isdigit() and p.isascii() for p in parts) or len(parts[0]) != 4 \
                or not 1 <= int(parts[1]) <= 12 or int(parts[0]) < 2000:
            raise ValidationFailed({"month": _("A month like 2026-06, please.")}, _("Please correct the filters."))
        year, month = int(parts[0]), int(parts[1])
    first = date(year, month, 1)
    if first > now:
        raise ValidationFailed({"month": _("That month has not begun.")}, _("Please correct the filters."))
    return first, min(date(year, month, monthrange(year, month)[1]), now)


def unit_of(user: User, code: str | None) -> Unit:
    """The unit asked for (default the user's own) if the user may see it; else not found."""
    unit = db.session.scalars(select(Unit).where(Unit.code == code)).first() if code else user.unit
    if unit is None or not may_see_unit(user, unit):
        raise NotFound(_("No such unit."))
    return unit


def top_of(unit: Unit) -> Unit:
    """The unit at the top of the unit's tree (its county, city or province): the ranking's pool."""
    top = unit
    while top.parent is not None:
        top = top.parent
    return top


# -- the figures -----------------------------------------------------------------------------

def _ratio(num: float, den: float) -> float | None:
    return round(num / den, 4) if den else None


def unit_parts(t: Counter, coverage: tuple[int, int], pace: float | None, cadres: int) -> dict[str, tuple]:
    """(numerator, denominator) of each indicator of a team or group from its month's tallies."""
    parts = bl.rate_parts(t)
    return {"coverage": coverage, "on_time_closure": parts["on_time_closure"],
            "satisfaction": parts["satisfaction"], "feedback": parts["feedback"],
            "visits_per_cadre": (t["visits"], cadres), "overdue": (t["open_overdue"], t["open_end"]),
            "rework": parts["rework"]}


def indicator_score(name: str, value: float | None, pace: float | None, a: Assessment) -> float | None:
    """0..1: a rate as it is, 1 - rate when lower is better, coverage against 序时进度 (no
    timetable: against full coverage; nothing asked yet: full marks), visits per cadre against
    the file's full marks; at most 1."""
    if value is None:
        return None
    if name == "coverage":
        goal = 1.0 if pace is None else pace
        return 1.0 if goal <= 0 else min(1.0, value / goal)
    if name in a.full_marks:
        return min(1.0, value / a.full_marks[name])
    return 1 - value if INDICATORS[name] == "lower" else value


def score_row(row: Row, pace: float | None, a: Assessment) -> None:
    weights = a.weights.get(row.unit.kind, {})
    total = weighted = 0.0
    for name in KIND_INDICATORS[row.unit.kind]:
        num, den = row.parts.get(name, (0, 0))
        row.values[name] = _ratio(num, den) if name != "visits_per_cadre" else (
            round(num / den, 2) if den else None)
        s = indicator_score(name, row.values[name], pace, a)
        if s is None or name not in weights:
            continue
        row.scores[name] = round(s, 4)
        total += weights[name]
        weighted += weights[name] * s
    row.score = round(100 * weighted / total, 2) if total else None
    row.status = a.status(row.score)


def cadres_by_unit(ids: list[int]) -> dict[int, int]:
    return dict(db.session.execute(
        select(User.unit_id, func.count()).where(User.active.is_(True), User.role.in_(CADRE_ROLES),
                                                 User.unit_id.in_(ids)).group_by(User.unit_id)).all())


def local_day(column):
    """SQL: the Asia/Shanghai day of a UTC timestamp column (China keeps no summer time)."""
    if db.session.get_bind().dialect.name == "postgresql":
        return cast(func.timezone("Asia/Shanghai", func.timezone("UTC", column)), Date)
    return func.date(column, "+8 hours")


def as_date(text):
    """SQL: a JSON date text as a date comparable with a Date column on this engine."""
    return cast(text, Date) if db.session.get_bind().dialect.name == "postgresql" else text


def department_parts(top: Unit, start: date, end: date) -> dict[int, dict[str, tuple]]:
    """Per department under `top`: referrals received, returns, resolutions in time, and the
    cases it holds open and overdue at the month's end."""
    wf = default_workflow()
    held = [s.name for s in wf.states.values() if s.level == "department"]
    answered = [s.name for s in wf.states.values() if s.remember == "resolver" or (s.level == KEEP and not s.final)]
    resolving = [s.name for s in wf.states.values() if s.remember == "resolver"]
    ids = list(db.session.scalars(select(Unit.id).where(Unit.path.startswith(top.path), Unit.kind == "department",
                                                        Unit.active.is_(True))))
    e = CaseEvent
    month = and_(e.at >= bl.start_of(start), e.at < bl.start_of(end + timedelta(days=1)))
    counts: dict[int, Counter] = {i: Counter() for i in ids}

    def add(rows, key):
        for unit_id, n in rows:
            if unit_id in counts:
                counts[unit_id][key] += int(n or 0)

    add(db.session.execute(select(e.to_unit_id, func.count()).where(
        month, e.to_state.in_(held), e.from_state.not_in(held), e.to_unit_id.in_(ids)).group_by(e.to_unit_id)),
        "referrals")
    add(db.session.execute(select(e.from_unit_id, func.count()).where(
        month, e.from_state.in_(held), e.to_state.not_in(held + answered), e.from_unit_id.in_(ids))
        .group_by(e.from_unit_id)), "returns")
    # In time: resolved by the due date of the move that brought it to the department, or of an
    # extension approved in that state before the resolution.
    entry = aliased(CaseEvent)
    due = (select(entry.data["due_date"].as_string()).where(
        entry.case_id == e.case_id, entry.id < e.id, entry.to_state == e.from_state,
        entry.from_state != entry.to_state).order_by(entry.id.desc()).limit(1).scalar_subquery())
    extended = (select(func.max(Extension.new_deadline)).where(
        Extension.case_id == e.case_id, Extension.status == "approved", Extension.state == e.from_state,
        Extension.decided_at < e.at).scalar_subquery())
    in_time = local_day(e.at) <= func.coalesce(extended, as_date(due))
    resolved = and_(month, e.from_state.in_(held), e.to_state.in_(resolving), e.from_unit_id.in_(ids))
    add(db.session.execute(select(e.from_unit_id, func.count()).where(resolved).group_by(e.from_unit_id)),
        "resolutions")
    add(db.session.execute(select(e.from_unit_id, func.count()).where(resolved, in_time)
                           .group_by(e.from_unit_id)), "in_time")
    holding = and_(Case.state.in_(held), Case.unit_id.in_(ids), Case.created_at < bl.start_of(end + timedelta(days=1)))
    add(db.session.execute(select(Case.unit_id, func.count()).where(holding).group_by(Case.unit_id)), "open")
    add(db.session.execute(select(Case.unit_id, func.count()).where(
        holding, Case.deadline < end, running_clock(wf)).group_by(Case.unit_id)), "overdue")
    return {i: {"on_time_closure": (c["in_time"], c["resolutions"] + c["overdue"]),
                "overdue": (c["overdue"], c["open"]), "returns": (c["returns"], c["referrals"])}
            for i, c in counts.items()}


# -- the assessment ----------------------------------------------------------------------------

@dataclass
class Result:
    unit: Unit
    start: date
    end: date
    pace: float | None
    rows: list[Row]

    @property
    def month(self) -> str:
        return self.start.strftime("%Y-%m")

    def of_kind(self, kind: str) -> list[Row]:
        return [r for r in self.rows if r.unit.kind == kind]

    def json(self) -> dict[str, Any]:
        return {"unit": self.unit.code, "month": self.month, "from": self.start.isoformat(),
                "to": self.end.isoformat(), "pace": self.pace, "units": [r.json() for r in self.rows]}


def assess(unit: Unit, start: date, end: date) -> Result:
    """Every team, group and department of the unit's county scored and ranked for the period;
    the rows of the unit's subtree (itself included), by kind and rank."""
    a = rules()
    top = top_of(unit)
    t = bl.Tallies(top, start, end, targets=False)
    rep = cov.report(top, end)
    pace = cov.pace(rep[1], end)
    covered = {r["unit"].id: (r["visited"], r["assigned"]) for r in cov.breakdown(top, end, rep)}
    if top.kind == "group":
        covered[top.id] = (rep[0].tally(rep[0].total, end).visited, rep[0].total.assigned)
    units = [u for u in t.teams + t.groups if u.active]
    cadres = cadres_by_unit([u.id for u in units])
    rows = []
    for u in units:
        groups = [u.id, *(g.id for g in t.groups if g.parent_id == u.id)] if u.kind == "team" else [u.id]
        row = Row(u, unit_parts(t.total(groups), covered.get(u.id, (0, 0)), pace,
                                sum(cadres.get(i, 0) for i in groups)))
        score_row(row, pace, a)
        row.extra["pace"] = pace
        rows.append(row)
    depts = {d.id: d for d in db.session.scalars(select(Unit).where(Unit.kind == "department",
                                                                     Unit.path.startswith(top.path)))}
    for dept_id, parts in department_parts(top, start, end).items():
        row = Row(depts[dept_id], parts)
        score_row(row, pace, a)
        row.extra["referrals"] = parts["returns"][1]
        rows.append(row)
    for kind in KINDS:
        ranked = sorted((r for r in rows if r.unit.kind == kind),
                        key=lambda r: (r.score is None, -(r.score or 0), r.unit.code))
        for n, r in enumerate(ranked, 1):
            r.rank = n
    mine = [r for r in rows if r.unit.path.startswith(unit.path)]
    return Result(unit, start, end, pace, sorted(mine, key=lambda r: (KINDS.index(r.unit.kind), r.rank)))


# -- the circular (督查通报) ---------------------------------------------------------------------

def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def laggard_figures(row: Row) -> str:
    """The figures a circular names a laggard with."""
    v, parts = row.values, row.parts
    if row.unit.kind == "department":
        return _("on-time closure %(on_time)s, %(overdue)d overdue cases held, %(returns)d returned of "
                 "%(referrals)d referred", on_time=percent(v.get("on_time_closure")),
                 overdue=parts["overdue"][0], returns=parts["returns"][0], referrals=parts["returns"][1])
    return _("coverage %(coverage)s, on-time closure %(on_time)s, satisfaction %(satisfaction)s, "
             "%(overdue)d overdue cases", coverage=percent(v.get("coverage")),
             on_time=percent(v.get("on_time_closure")), satisfaction=percent(v.get("satisfaction")),
             overdue=parts["overdue"][0])


def circular(result: Result, office: Unit, issued: date | None = None) -> tuple[str, list[Row]]:
    """A draft 督查通报 of the month naming the laggards (red) with their figures, in the
    reader's language, and the laggards' rows (worst first within each kind)."""
    laggards = [r for kind in KINDS for r in sorted(result.of_kind(kind), key=lambda r: -r.rank)
                if r.status == "red"]
    count = Counter(r.status for r in result.rows)
    kinds = Counter(r.unit.kind for r in result.rows)
    a = rules()
    lines = [_("Circular on the assessment of the grand-visit campaign, %(year)d-%(month)02d",
               year=result.start.year, month=result.start.month), "",
             _("To the work teams, the work groups and the county departments:"),
             _("The %(office)s has assessed the work of the work teams, work groups and county departments "
               "in %(year)d-%(month)02d by the campaign's assessment rules. The results are circulated as "
               "follows:", office=office.name, year=result.start.year, month=result.start.month),
             _("1. Overall"),
             _("%(teams)d work teams, %(groups)d work groups and %(departments)d county departments were "
               "assessed: %(green)d green, %(yellow)d yellow, %(red)d red. The timetable pace on %(day)s "
               "was %(pace)s.", teams=kinds["team"], groups=kinds["group"], departments=kinds["department"],
               green=count["green"], yellow=count["yellow"], red=count["red"], day=result.end.isoformat(),
               pace=percent(result.pace)),
             _("2. Units scoring below %(yellow)s (red)", yellow=f"{a.yellow:g}")]
    for n, r in enumerate(laggards, 1):
        lines.append(_("(%(n)d) %(name)s: score %(score)s, rank %(rank)d of its kind; %(figures)s.",
                       n=n, name=r.unit.name, score=f"{r.score:.1f}" if r.score is not None else "—",
                       rank=r.rank, figures=laggard_figures(r)))
    if not laggards:
        lines.append(_("No unit is red this month."))
    lines += [_("3. What is asked"),
              _("The units named above find the causes and report their rectification measures to the "
                "%(office)s within five working days.", office=office.name),
              "", office.name, (issued or today()).isoformat()]
    return "\n".join(lines), laggards
