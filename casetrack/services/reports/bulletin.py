"""The bulletin (简报): every figure of a period for a county, team or group, and its rates.

Each figure is a SUM over the daily figures (table daily_figures, kept per work group and
day by services/figures/summaries.py in the same transaction as the cases and visits they count),
GROUPED BY work group and a small key (kind, category, level, role) over a range of days of
the table's primary key; only targets visited in the period (distinct, not a sum of days)
and the overdue list read visits and cases, by an index range. Python only adds up the
aggregate rows that come back into the unit's total, its teams and its groups, which also
gives the rankings; it never walks cases or visits.

Counting rules (shown with the figures):
- a problem counts in `found` on the day it was found (`found_on`: the visit's or reception's
  day, Asia/Shanghai), however late it was entered; the first-response rate counts cases by
  their filing day;
- it counts in `resolved` (办结, the handler's word) on the day it was first resolved:
  resolved, reopened by a dissatisfied call-back and resolved again, it counts once; its level
  is the kind of the unit that resolved it; funds and donations are what each resolution
  recorded that day;
- it counts in `solved` (核实解决, the office's word) on the day the office verified it: the
  transition the workflow marks `counts_as: solved` (a satisfied call-back), once; its level is
  the kind of the unit whose resolution was verified;
- `explained` (cannot solve now) counts cases explained for the first time, apart from solved.
"""
from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, exists, func, literal_column, or_, select, union_all
from sqlalchemy import case as sql_case
from sqlalchemy.orm import aliased

from casetrack.extensions import db
from casetrack.models import (BULLETIN_TYPES, POSTS, VISIT_TARGET_KINDS, Bulletin, Case, CaseEvent, Category, DailyFigure,
                              Petition, Suggestion, TakeDown, Target, Unit, User, Visit, visit_targets)
from casetrack.services.fieldwork import coverage as cov
from casetrack.services.workdays.calendar import add_working_days, parse_day, start_of, today
from casetrack.services.casework.cases import campaign_start, default_workflow, registry
from casetrack.services.workdays.clock import running_clock
from casetrack.services.common.errors import NotFound, ValidationFailed
from casetrack.services.figures.counted import is_parent
from casetrack.services.fieldwork.targets import may_see_unit
from casetrack.services.figures.definitions import as_day, in_time

LEVELS = ("group", "team", "county", "department")
LEADER_ROLES = ("group_leader", "team_leader", "county_officer")
RATES = ("closure", "on_time_closure", "satisfaction", "first_response", "rework", "feedback")
DEFINITIONS = {
    "closure": _l("Closure rate = cases closed in the period / (cases closed in the period + cases "
                  "still open at its end, explained ones included)."),
    "on_time_closure": _l("On-time closure rate = cases closed in the period whose resolution met the "
                          "deadline of the state it was resolved from / (cases closed in the period + "
                          "open cases already overdue at its end)."),
    "satisfaction": _l("Satisfaction rate = call-backs in the period that found the resident satisfied or "
                       "basically satisfied / call-backs in the period that reached the resident (a case "
                       "closed as unreachable is in neither; it is counted apart)."),
    "first_response": _l("First-response rate = cases filed in the period that were acted on within "
                         "their first state's deadline / cases filed in the period that were acted on or "
                         "whose first deadline has passed (a case whose window is still open is in neither)."),
    "rework": _l("Rework rate = dissatisfied call-backs (the case is reopened) / resolutions in the "
                 "period."),
    "found": _l("Problems found: counted on the day they were found (the day of the visit), however late "
                "they were entered."),
    "reached": _l("Targets reached: distinct targets reached by the period's visits, a meeting's every "
                  "household included, so they may exceed the visits."),
    "principal_leaders": _l("Visits by principal leaders: visits with a principal leader of the city or "
                            "the county among the cadres."),
    "cumulative": _l("Since the campaign began: each figure from the campaign's first day to the "
                     "period's end; targets visited and reached are the targets first visited or "
                     "reached since then."),
    "resolved": _l("Problems resolved: counted on the day the handler first resolved them; a case "
                   "resolved, reopened and resolved again counts once."),
    "solved": _l("Problems solved: counted on the day the office verified them after a satisfied call-back "
                 "(not when the handler resolved them). Explained cases are not solved."),
    "feedback": _l("Feedback rate = cases closed, or else explained, in the period whose filing group "
                   "recorded telling the resident the answer / cases closed, or else explained, in the "
                   "period."),
    "explained": _l("Explained (cannot solve now): cases explained to the people for the first time "
                    "in the period; they stay on the books."),
    "funds": _l("Public funds and social donations, in 10,000 yuan, as the resolutions recorded them."),
    "shared": _l("A shared problem counts as the reports linked into it: each is found, solved (at the level "
                 "that solved the shared problem) and called back on its own; the shared case adds only the "
                 "money its resolution recorded."),
    "coverage": _l("Coverage rate = active targets visited at least once by the period's end / "
                   "active targets assigned."),
    "petitions": _l("Petitions: batches and persons received (接访) by the unit and the units under it "
                    "on days of the period, collective visits among them; cadres taking cases down "
                    "(带案下访) in person-times; long-standing petition cases (信访积案) registered in the "
                    "period, and those resolved (化解) for the first time in it."),
}


# -- scope ---------------------------------------------------------------------------------

def check_scope(user: User, unit: Unit | None) -> Unit:
    """The unit if the user may read its bulletin: its own unit or one below (not a department)."""
    if unit is None or not may_see_unit(user, unit) or unit.kind not in ("county", "city", "province",
                                                                           "team", "group"):
        raise NotFound(_("No such unit."))
    return unit


def parse_period(args, user: User) -> tuple[Unit, date, date]:
    """unit (code, default the user's own), from and to (default: this week so far)."""
    errors: dict[str, str] = {}
    days: dict[str, date] = {}
    for name in ("from", "to"):
        if args.get(name):
            try:
                days[name] = parse_day(args[name])
            except ValueError:
                errors[name] = _("A date like 2026-07-31, please.")
    if errors:
        raise ValidationFailed(errors, _("Please correct the filters."))
    to = days.get("to", today())
    start = days.get("from", to - timedelta(days=to.weekday()))
    if start > to:
        raise ValidationFailed({"from": _("The period starts after it ends.")})
    code = args.get("unit")
    unit = (db.session.scalars(select(Unit).where(Unit.code == code)).first() if code else user.unit)
    return check_scope(user, unit), start, to


# -- the counts ----------------------------------------------------------------------------

class Tallies:
    """Counters per work group, from aggregate rows."""

    def __init__(self, unit: Unit, date_from: date, date_to: date, to_date: bool = False,
                 targets: bool = True):
        """`to_date`: the figures since the campaign began (from `date_from`, its first day): only
        the unit's total (under key 0), each aggregate one row per key, not per key and work
        group; targets visited and reached are the targets of its groups first visited and first
        reached in the range (daily figures), not counts of every visit; no cases open at the end.
        `targets=False`: no distinct targets visited or reached are counted from the visits (the
        dashboard and the assessment show none)."""
        self.unit, self.date_from, self.date_to = unit, date_from, date_to
        self.per_group = not to_date
        self.end = start_of(date_to + timedelta(days=1))
        units = list(db.session.scalars(select(Unit).where(
            Unit.path.startswith(unit.path), Unit.kind.in_(("county", "team", "group"))).order_by(Unit.code)))
        self.counties = [u for u in units if u.kind == "county" and u.id != unit.id]   # a city's
        self.teams = [u for u in units if u.kind == "team"]
        self.groups = [u for u in units if u.kind == "group"] if unit.kind != "group" else [unit]
        self.group_ids = [g.id for g in self.groups]
        # A shared problem's parent is filed at the level that linked it (a team or the office):
        # its figures (the money spent on it) are kept under that unit, beside its groups'.
        self.owner_ids = [u.id for u in [unit, *self.counties, *self.teams] if u.kind != "group"]
        self.by_group: dict[int, Counter] = ({g: Counter() for g in self.group_ids + self.owner_ids}
                                             if self.per_group else {0: Counter()})
        wf = default_workflow()
        self.final = [s.name for s in wf.states.values() if s.final]
        self.filing = wf.filing_states
        self.wf = wf
        self.deadlines: dict[tuple[date, int], date] = {}
        if self.group_ids:
            self._period()
            if self.per_group:   # to date: open at the end is the period's; targets from `_period`
                self._open()
                if targets:
                    self._targets()
            self._answered()

    def add(self, group_id: int, key: str, n: Any) -> None:
        if group_id in self.by_group and n:
            self.by_group[group_id][key] += n

    def in_scope(self, column):
        return column.in_(self.group_ids + self.owner_ids)

    def key(self, column):
        """What a row is counted under: its work group (`column`), or 0, the total."""
        return column if self.per_group else literal_column("0")

    def by(self, column) -> list:
        return [column] if self.per_group else []

    def cases(self):
        """The cases the bulletin counts: the campaign's, filed by the unit's groups; a shared
        problem's parent case is not one of its problems (its member reports are)."""
        return and_(Case.group_id.in_(self.group_ids), Case.workflow == self.wf.name, ~is_parent(Case))

    def figures(self, names: tuple[str, ...], *days):
        """SUM of the daily figures `names` of the unit's groups over `days` (a range's bounds).
        SQLite is asked a figure at a time: it sorts each figure's rows apart, a third faster over
        many days than all of them at once; PostgreSQL hashes them in one go, one round trip."""
        f = DailyFigure
        sums = (func.sum(f.n), func.sum(f.funds), func.sum(f.donations))
        if db.session.get_bind().dialect.name == "sqlite":
            rows = [(g, name, *rest) for name in names for g, *rest in db.session.execute(
                select(self.key(f.group_id), f.detail, *sums).where(f.figure == name, *days, self.in_scope(f.group_id))
                .group_by(*self.by(f.group_id), f.detail))]
        else:
            rows = db.session.execute(
                select(self.key(f.group_id), f.figure, f.detail, *sums).where(f.figure.in_(names), *days,
                                                                            self.in_scope(f.group_id))
                .group_by(*self.by(f.group_id), f.figure, f.detail))
        return [(g, figure, detail, int(n or 0), int(funds or 0), int(donations or 0))   # PostgreSQL: numeric
                for g, figure, detail, n, funds, donations in rows]

    def _period(self) -> None:
        """Every additive figure of the period, from the daily figures (services/figures/summaries.py);
        since the campaign began, the targets first visited and first reached in it too (a count
        of the visits' distinct targets otherwise: `_targets`)."""
        f = DailyFigure
        firsts = {"first_own_visit": "targets", "first_reach": "reached"} if not self.per_group else {}
        for g, figure, detail, n, funds, donations in self.figures(
                ("visits", "suggestions", "cadre", "post", "principal", "found", "first_act", "money",
                 "resolutions", "solved", "resolved", "explained", "callback", "closed", "on_time", "answered",
                 "told", *firsts),
                f.day >= self.date_from, f.day <= self.date_to):
            if figure in firsts:
                self.add(g, f"{firsts[figure]}:{detail}", n)
            elif figure == "visits":
                self.add(g, "visits", n)
                self.add(g, f"visits:{detail}", n)
            elif figure == "cadre":
                self.add(g, "cadre_visits", n)
                self.add(g, f"leader:{detail}", n)
            elif figure == "post":
                self.add(g, f"post:{detail}", n)
            elif figure == "found":
                self.add(g, "found", n)
                self.add(g, f"category:{detail}", n)
            elif figure == "first_act":
                kind, filed, acted = detail.split("|")
                state, acted = self.filing.get(kind, ""), as_day(acted or None)
                if in_time(state, as_day(filed), None, acted, self.deadlines, self.wf):
                    self.add(g, "first_response", n)
                if acted or self.window_closed(state, as_day(filed)):
                    self.add(g, "first_due", n)
            elif figure == "money":
                self.add(g, "funds", Decimal(funds or 0) / 100)
                self.add(g, "donations", Decimal(donations or 0) / 100)
            elif figure in ("solved", "resolved"):
                self.add(g, figure, n)
                self.add(g, f"{figure}:{detail}", n)
            elif figure == "callback":   # a flagged closure (unreachable) reached no one: apart
                self.add(g, "flagged" if detail.startswith("flag:") else "callbacks", n)
                self.add(g, detail, n)
            else:
                self.add(g, {"on_time": "closed_on_time"}.get(figure, figure), n)

    def window_closed(self, state: str, filed: date) -> bool:
        """Whether the first deadline of a case filed on `filed` in `state` has passed by the
        period's end (the deadline day itself is still in time; today is not over)."""
        spec = self.wf.states.get(state)
        if spec is None or not spec.deadline_days:
            return False
        key = (filed, spec.deadline_days)
        if key not in self.deadlines:
            self.deadlines[key] = add_working_days(*key)
        return self.deadlines[key] < min(self.date_to + timedelta(days=1), today())

    def _targets(self) -> None:
        """Distinct targets visited in the period by the unit's groups, by kind, and distinct
        targets of its groups reached by those visits (a visit's own and its further ones), under
        the target's group: not sums of days, from the visits (by their index of days and groups)."""
        period = and_(Visit.visited_on >= self.date_from, Visit.visited_on <= self.date_to,
                      Visit.group_id.in_(self.group_ids))
        by_day = "INDEXED BY ix_visits_day_group_target"   # not each group's visits of every day
        for g, kind, n in db.session.execute(
                select(Visit.group_id, Target.kind, func.count(Visit.target_id.distinct()))
                .join(Target, Target.id == Visit.target_id).where(period).with_hint(Visit, by_day, "sqlite")
                .group_by(Visit.group_id, Target.kind)):
            self.add(g, f"targets:{kind}", n)
        reach = union_all(
            select(Visit.target_id.label("target_id")).where(period).with_hint(Visit, by_day, "sqlite"),
            select(visit_targets.c.target_id).join(Visit, Visit.id == visit_targets.c.visit_id).where(period)
            .with_hint(Visit, by_day, "sqlite")).subquery()
        for g, kind, n in db.session.execute(
                select(Target.group_id, Target.kind, func.count(Target.id.distinct()))
                .join(reach, reach.c.target_id == Target.id).where(Target.group_id.in_(self.group_ids))
                .group_by(Target.group_id, Target.kind)):
            self.add(g, f"reached:{kind}", n)

    def _answered(self) -> None:
        """Suggestions answered in the range, by the collecting group."""
        for g, n in db.session.execute(
                select(self.key(Suggestion.group_id), func.count()).where(
                    Suggestion.answered_at >= start_of(self.date_from), Suggestion.answered_at < self.end,
                    Suggestion.group_id.in_(self.group_ids)).group_by(*self.by(Suggestion.group_id))):
            self.add(g, "suggestions_answered", n)

    def _open(self) -> None:
        """Open at the period's end: filed up to its end less closed up to its end (a closed case
        stays closed); open and already overdue at its end (by the deadline they have now, their
        clock running): both sums over the daily figures."""
        for g, figure, _detail, n, _f, _d in self.figures(("filed", "closed"), DailyFigure.day <= self.date_to):
            self.add(g, "open_end", n if figure == "filed" else -n)
        for g, _figure, _detail, n, _f, _d in self.figures(("open_deadline",), DailyFigure.day < self.date_to):
            self.add(g, "open_overdue", n)

    def overdue_at_end(self):
        """Open, past its deadline at the period's end, its clock running (not explained, not a
        linked member, no extension pending)."""
        return and_(Case.state.in_(self.open_states()), Case.deadline < self.date_to,
                    Case.created_at < self.end, running_clock(self.wf))

    def open_states(self) -> list[str]:
        return [s for s in self.wf.states if s not in self.final]

    def total(self, group_ids: list[int] | None = None) -> Counter:
        out: Counter = Counter()
        for g in self.by_group if group_ids is None else group_ids:
            out.update(self.by_group.get(g, Counter()))
        return out


# The county's overdue list: a range of (state, deadline) per open state; SQLite's planner would
# rather take the groups' index and read every open case.
OVERDUE_INDEX = "INDEXED BY ix_cases_state_deadline"


def ratio(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def rate_parts(t: Counter) -> dict[str, tuple[int, int]]:
    return {
        "closure": (t["closed"], t["closed"] + t["open_end"]),
        "on_time_closure": (t["closed_on_time"], t["closed"] + t["open_overdue"]),
        "satisfaction": (t["satisfied"], t["callbacks"]),
        "first_response": (t["first_response"], t["first_due"]),
        "rework": (t["reworked"], t["resolutions"]),
        "feedback": (t["told"], t["answered"]),
    }


def rates(t: Counter) -> dict[str, float | None]:
    return {k: ratio(n, d) for k, (n, d) in rate_parts(t).items()}


def money(value: Any) -> float:
    return float(Decimal(value or 0).quantize(Decimal("0.01")))


def figures_of(t: Counter, categories: dict[int, str]) -> dict[str, Any]:
    return {
        "visits": {
            "total": t["visits"], "cadre_visits": t["cadre_visits"],
            "by_kind": {k: t[f"visits:{k}"] for k in VISIT_TARGET_KINDS},
            "targets_by_kind": {k: t[f"targets:{k}"] for k in VISIT_TARGET_KINDS},
            "by_leader": {r: t[f"leader:{r}"] for r in LEADER_ROLES},
            "person_times": t["cadre_visits"],
            "by_post": {p: t[f"post:{p}"] for p in POSTS},
            "principal_leaders": t["principal"],
        },
        "reached": {"total": sum(t[f"reached:{k}"] for k in VISIT_TARGET_KINDS),
                    "by_kind": {k: t[f"reached:{k}"] for k in VISIT_TARGET_KINDS}},
        "problems": {
            "found": t["found"], "resolved": t["resolved"], "solved": t["solved"], "explained": t["explained"],
            "by_category": {code: t[f"category:{cid}"] for cid, code in categories.items()
                            if t[f"category:{cid}"]},
            "by_level_solved": {lv: t[f"solved:{lv}"] for lv in LEVELS},
            "by_level_resolved": {lv: t[f"resolved:{lv}"] for lv in LEVELS},
            "closed": t["closed"], "open_at_end": t["open_end"], "open_overdue": t["open_overdue"],
            # closures a transition flags (closed as unreachable): not solved, no call-back made
            "flagged": {flag: t[f"flag:{flag}"] for flag in default_workflow().flag_labels()},
        },
        "suggestions": t["suggestions"], "suggestions_answered": t["suggestions_answered"],
        "funds": money(t["funds"]), "donations": money(t["donations"]),
        "rates": rates(t),
        "rate_parts": {k: list(v) for k, v in rate_parts(t).items()},
    }


# Figures whose change since the previous issue is reported: (section, key) or key.
CHANGED = [("visits", "total"), ("problems", "found"), ("problems", "resolved"), ("problems", "solved"),
           ("problems", "explained"), "suggestions", "funds", "donations", ("coverage", "rate"),
           *[("rates", r) for r in RATES]]


def pick(figures: dict[str, Any], path) -> Any:
    return figures.get(path) if isinstance(path, str) else (figures.get(path[0]) or {}).get(path[1])


def change_since(figures: dict[str, Any], previous: dict[str, Any] | None) -> dict[str, Any] | None:
    if previous is None:
        return None
    out = {}
    for path in CHANGED:
        now_, before = pick(figures, path), pick(previous, path)
        name = path if isinstance(path, str) else ".".join(path)
        out[name] = (round(now_ - before, 4) if isinstance(now_, (int, float))
                     and isinstance(before, (int, float)) else None)
    return out


def previous_issue(unit: Unit, date_to: date) -> Bulletin | None:
    return db.session.scalars(select(Bulletin).where(Bulletin.unit_id == unit.id, Bulletin.date_to < date_to,
                                                     Bulletin.published_at.is_not(None))
                              .order_by(Bulletin.date_to.desc(), Bulletin.published_at.desc()).limit(1)).first()


def bulletin(unit: Unit, date_from: date, date_to: date) -> dict[str, Any]:
    """Every figure of the period for the unit (county, team or group), its teams' and groups'
    figures with rankings, the overdue cases by unit, and the change since the previous issue."""
    t = Tallies(unit, date_from, date_to)
    categories = {i: c for i, c in db.session.execute(select(Category.id, Category.code).order_by(Category.position))}
    total = t.total()
    rep = cov.report(unit, date_to)
    figures = figures_of(total, categories)
    figures["coverage"] = cov.coverage(unit, date_to, rep)
    figures["coverage"]["series"] = coverage_series(unit, date_to, figures["coverage"]["assigned"])
    figures.update({"unit": {"code": unit.code, "name": unit.name, "kind": unit.kind},
                    "from": date_from.isoformat(), "to": date_to.isoformat(),
                    "definitions": {k: str(v) for k, v in DEFINITIONS.items()}})
    figures["units"] = unit_rows(t, rep, categories)
    figures["laggards"] = [r["code"] for r in figures["units"] if r["laggard"]]
    figures["overdue"] = overdue_cases(t)
    figures["petitions"] = petition_figures(unit, date_from, date_to)
    prev = previous_issue(unit, date_to)
    figures["previous"] = ({"number": prev.number, "type": prev.type, "year": prev.year,
                            "from": prev.date_from.isoformat(),
                            "to": prev.date_to.isoformat()} if prev else None)
    figures["change"] = change_since(figures, prev.figures if prev else None)
    figures["bulletins"] = {"issued": issued(unit, date_to)}
    figures["cumulative"] = cumulative(unit, date_to, categories, total)
    return figures


def campaign_began(date_to: date) -> date:
    """The first day counted in the cumulative figures: the campaign's start (CAMPAIGN_START),
    else the earliest day a visit or a problem was found or filed (every day before the period's end)."""
    start = campaign_start()
    if start is not None:
        return min(start, date_to)
    # the first visit or problem found (nothing else is counted before both): each unit's first
    # key of each of these figures in the primary key (figure, group_id, day): a MIN over every
    # row of a figure, or of them all (PostgreSQL), reads every row
    f = DailyFigure
    firsts = [day for figure in ("visits", "found", "filed") if (day := db.session.scalar(
        select(func.min(select(func.min(f.day)).where(f.figure == figure, f.group_id == Unit.id)
                        .scalar_subquery())).select_from(Unit))) is not None]
    return min([*firsts, date_to])


def cumulative(unit: Unit, date_to: date, categories: dict[int, str], period: Counter) -> dict[str, Any]:
    """Every figure since the campaign began (截至目前), with the same keys as the period's: the
    cases open at its end (and overdue) are the `period`'s, which ends the same day."""
    start = campaign_began(date_to)
    total = Tallies(unit, start, date_to, to_date=True).total()
    total.update({k: period[k] for k in ("open_end", "open_overdue")})
    figures = figures_of(total, categories)
    figures.update({"from": start.isoformat(), "to": date_to.isoformat(),
                    "petitions": petition_figures(unit, start, date_to),
                    "bulletins": {"issued": issued(unit, date_to)}})
    return figures


def issued(unit: Unit, date_to: date) -> dict[str, int]:
    """Published issues of the unit's bulletins whose period ended by `date_to`, by type (简报,
    专报, …); drafts are not issued."""
    counts = dict(db.session.execute(select(Bulletin.type, func.count()).where(
        Bulletin.unit_id == unit.id, Bulletin.date_to <= date_to, Bulletin.published_at.is_not(None))
        .group_by(Bulletin.type)).all())
    return {kind: counts.get(kind, 0) for kind in BULLETIN_TYPES}


def coverage_series(unit: Unit, date_to: date, assigned: int) -> list[list[Any]]:
    """[day, coverage rate] on each day a target was first visited, up to the period's end."""
    out, seen = [], 0
    for day, n in cov.first_visits(unit):
        if day > date_to:
            break
        seen += n
        out.append([day.isoformat(), round(seen / assigned, 4) if assigned else 0])
    return out


def unit_rows(t: Tallies, rep, categories: dict[int, str]) -> list[dict[str, Any]]:
    """One row per team and group under the unit, ranked within its level by coverage, then by
    on-time closure; laggards are behind the timetable or hold cases already overdue."""
    if t.unit.kind == "group":
        return []
    coverage_rows = {r["unit"].id: r for r in cov.breakdown(t.unit, t.date_to, rep)}
    coverage_rows.update(county_coverage(t, coverage_rows))
    rows = []
    for u in [u for u in t.counties + t.teams + t.groups if u.id != t.unit.id]:
        ids = ([u.id, *(x.id for x in t.teams + t.groups if u.contains(x))] if u.kind == "county" else
               [u.id, *(g.id for g in t.groups if g.parent_id == u.id)] if u.kind == "team" else [u.id])
        tally = t.total(ids)
        c = coverage_rows.get(u.id, {})
        status = (c.get("status") or {}).get("status")
        rows.append({"code": u.code, "name": u.name, "level": u.kind,
                     "parent": u.parent.code if u.parent else None,
                     "visits": tally["visits"], "found": tally["found"], "resolved": tally["resolved"],
                     "solved": tally["solved"],
                     "explained": tally["explained"], "open_overdue": tally["open_overdue"],
                     "coverage": c.get("rate"), "coverage_status": status, **rates(tally),
                     "laggard": status == "behind" or tally["open_overdue"] > 0})
    for level in ("county", "team", "group"):
        ranked = sorted((r for r in rows if r["level"] == level),
                        key=lambda r: (-(r["coverage"] or 0), -(r["on_time_closure"] or 0), r["code"]))
        for n, r in enumerate(ranked, 1):
            r["rank"] = n
    return sorted(rows, key=lambda r: (("county", "team", "group").index(r["level"]), r["rank"]))


def county_coverage(t: Tallies, groups: dict[int, dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """A city's counties compared: each county's coverage from its groups' rows (targets assigned
    and visited add up), with no timetable status of its own (each county sets its own)."""
    out = {}
    for county in t.counties:
        rows = [groups[g.id] for g in t.groups if county.contains(g) and g.id in groups]
        assigned, visited = sum(r["assigned"] for r in rows), sum(r["visited"] for r in rows)
        out[county.id] = {"rate": ratio(visited, assigned), "status": None}
    return out


# -- petitions (信访) ----------------------------------------------------------------------------

def petition_figures(unit: Unit, date_from: date, date_to: date) -> dict[str, int]:
    """The period's petition figures of the unit's subtree, each one aggregate query: receptions
    (by the day received), cadres taking cases down (person-times, by the day), long-standing
    petition cases (the cases of a workflow other than the campaign's whose source is petition)
    registered, and resolved for the first time (entering a state its file marks `remember:
    resolver`)."""
    subtree = select(Unit.id).where(Unit.path.startswith(unit.path))
    p = Petition
    batches, persons, collective = db.session.execute(
        select(func.count(p.id), func.coalesce(func.sum(p.persons), 0),
               func.coalesce(func.sum(sql_case((p.collective.is_(True), 1), else_=0)), 0))
        .where(p.received_on >= date_from, p.received_on <= date_to, p.unit_id.in_(subtree))).one()
    cadres = db.session.scalar(select(func.count(TakeDown.id)).where(
        TakeDown.taken_on >= date_from, TakeDown.taken_on <= date_to, TakeDown.group_id.in_(subtree)))
    start, end = start_of(date_from), start_of(date_to + timedelta(days=1))
    flows = [wf for wf in registry().workflows.values()
             if wf.name != default_workflow().name and wf.source == "petition"]
    backlog = and_(Case.group_id.in_(subtree), Case.source == "petition",
                   Case.workflow.in_([wf.name for wf in flows] or [""]))
    total = db.session.scalar(select(func.count(Case.id)).where(
        backlog, Case.created_at >= start, Case.created_at < end))
    e, earlier = CaseEvent, aliased(CaseEvent)
    settled = or_(*[and_(Case.workflow == wf.name, e.to_state.in_(
        [s.name for s in wf.states.values() if s.remember == "resolver"] or [""])) for wf in flows]) \
        if flows else literal_column("1") == literal_column("0")
    resolved = db.session.scalar(
        select(func.count(e.case_id.distinct())).join(Case, Case.id == e.case_id)
        .where(backlog, Case.created_at < end, settled, e.at >= start, e.at < end, e.from_state != e.to_state,
               ~exists().where(earlier.case_id == e.case_id, earlier.to_state == e.to_state, earlier.id < e.id))
        # the petition cases filed by the period's end first, then their own events: not every
        # event of the period (since the campaign began: millions), few of them a petition's
        .with_hint(Case, "INDEXED BY ix_cases_source_created", "sqlite"))
    return {"batches": int(batches), "persons": int(persons), "collective": int(collective),
            "cadres_taking_cases_down": int(cadres or 0), "backlog_total": int(total or 0),
            "backlog_resolved": int(resolved or 0)}


def overdue_cases(t: Tallies, limit: int = 500) -> list[dict[str, Any]]:
    """Open cases already past their deadline at the period's end (those counted in
    open_overdue): the `limit` most overdue, listed by the unit holding them, most overdue first.

    One query per open state, each reading its (state, deadline) index in deadline order and
    stopping at `limit` rows: the county's list never sorts all its overdue cases."""
    holder = aliased(Unit)
    rows = []
    overdue = and_(t.overdue_at_end(), t.cases())
    for state in t.open_states():
        stmt = (select(Case.id, Case.title, Case.state, Case.deadline, holder.code, holder.name)
                .join(holder, holder.id == Case.unit_id).where(overdue, Case.state == state)
                .order_by(Case.deadline, Case.id).limit(limit))
        if len(t.group_ids) > 20:   # a county: the deadline index; a team or group: its groups' cases
            stmt = stmt.with_hint(Case, OVERDUE_INDEX, "sqlite")
        rows += db.session.execute(stmt).all()
    rows = sorted(rows, key=lambda r: (r.deadline, r.id))[:limit]
    return [{"id": i, "title": title, "state": state, "deadline": d.isoformat(), "unit": code,
             "unit_name": name} for i, title, state, d, code, name in sorted(rows, key=lambda r: (r[4], r[3], r[0]))]
