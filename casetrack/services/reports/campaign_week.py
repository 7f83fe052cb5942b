"""A campaign's week by responsible unit and by kind of problem (the weekly circular's figures,
周通报): problems assigned, rectified, struck off, sent back (each flag of the workflow), flagged overdue, the rectification
rate to date and its rank; the sites with most problems; each community's problems and its
paired units (包抓单位). Counted by the database over the
cases in the reader's scope; which transitions count is the workflow's word (`counts_as`, `flag`)."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, false, func, or_, select

from casetrack.extensions import db
from casetrack.models import Case, CaseEvent, Category, Target, Unit, User
from casetrack.services.figures.counted import fired_as
from casetrack.services.workdays.calendar import SHANGHAI
from casetrack.services.organisation.campaigns import pairs_of
from casetrack.services.casework.cases import registry, scoped_cases
from casetrack.services.casework.queries import SWEEP_FLAGS
from casetrack.workflow.campaigns import Campaign

TOP_SITES = 10


def week_of(day: date) -> tuple[date, date]:
    """Monday and Sunday of the day's week."""
    monday = day - timedelta(days=day.weekday())
    return monday, monday + timedelta(days=6)


def _moment(day: date) -> datetime:
    return datetime.combine(day, time.min, SHANGHAI)


def _counts(ids, key, wf, start: datetime, end: datetime) -> dict[Any, dict[str, int]]:
    """key -> figure -> how many, for the cases `ids` grouped by `key` (a column of the case)."""
    per_key: dict[Any, dict[str, int]] = {}

    def add(name: str, rows) -> None:
        for key_id, n in rows:
            per_key.setdefault(key_id, {})[name] = n

    filed = select(key, func.count()).where(Case.id.in_(ids))
    add("assigned", db.session.execute(filed.where(Case.created_at >= start, Case.created_at < end).group_by(key)))
    add("assigned_to_date", db.session.execute(filed.where(Case.created_at < end).group_by(key)))

    def fired(name: str, specs, to_date: bool = False) -> None:
        when = CaseEvent.at < end if to_date else and_(CaseEvent.at >= start, CaseEvent.at < end)
        add(name, db.session.execute(
            select(key, func.count(func.distinct(CaseEvent.id))).join(CaseEvent, CaseEvent.case_id == Case.id)
            .where(Case.id.in_(ids), when, or_(false(), *(fired_as(CaseEvent, t) for t in specs)))
            .group_by(key)))

    fired("rectified", wf.counting("rectified"))
    fired("solved", wf.counting("solved"))
    fired("solved_to_date", wf.counting("solved"), to_date=True)
    for flag in wf.flag_labels():
        fired(f"flag:{flag}", [t for t in wf.transitions if t.flag == flag])
    add("overdue", db.session.execute(
        select(key, func.count(func.distinct(Case.id))).join(CaseEvent, CaseEvent.case_id == Case.id)
        .where(Case.id.in_(ids), CaseEvent.trigger == SWEEP_FLAGS[0], CaseEvent.at >= start, CaseEvent.at < end)
        .group_by(key)))
    return per_key


def _row(f: dict[str, int], flags) -> dict[str, Any]:
    assigned_to_date = f.get("assigned_to_date", 0)
    return {"assigned": f.get("assigned", 0), "rectified": f.get("rectified", 0),
            "solved": f.get("solved", 0), "overdue": f.get("overdue", 0),
            "flags": {flag: f.get(f"flag:{flag}", 0) for flag in flags},
            "assigned_to_date": assigned_to_date, "solved_to_date": f.get("solved_to_date", 0),
            "rate": round(f.get("solved_to_date", 0) / assigned_to_date, 4) if assigned_to_date else None}


def week_figures(user: User, campaign: Campaign, day: date) -> dict[str, Any]:
    """The figures of the week of `day` for the campaign's cases in the user's scope."""
    monday, sunday = week_of(day)
    start, end = _moment(monday), _moment(sunday + timedelta(days=1))
    wf = registry().latest(campaign.workflow)
    ids = scoped_cases(user).where(Case.campaign == campaign.code).with_only_columns(Case.id)
    flags = wf.flag_labels()
    per_unit = _counts(ids, func.coalesce(Case.department_id, Case.unit_id), wf, start, end)
    per_kind = _counts(ids, Case.category_id, wf, start, end)
    categories = {c.id: c for c in db.session.scalars(select(Category).where(Category.id.in_(list(per_kind))))}
    kinds = sorted(({"category": categories[i].code,
                     "label": {"zh": categories[i].name_zh, "en": categories[i].name_en},
                     **_row(f, flags)} for i, f in per_kind.items()),
                   key=lambda r: (-r["assigned"], -r["assigned_to_date"], r["category"]))
    units = {u.id: u for u in db.session.scalars(select(Unit).where(Unit.id.in_(list(per_unit))))}
    rows = [{"unit": units[unit_id].code, "name": units[unit_id].name, **_row(f, flags)}
            for unit_id, f in per_unit.items()]
    rows.sort(key=lambda r: (r["rate"] is None, -(r["rate"] or 0), r["unit"]))
    for rank, row in enumerate(rows, 1):
        row["rank"] = rank
    sites = db.session.execute(
        select(Target.id, Target.name, Target.kind, func.count(Case.id)).join(Case, Case.target_id == Target.id)
        .where(Case.id.in_(ids), Case.created_at >= start, Case.created_at < end)
        .group_by(Target.id, Target.name, Target.kind).order_by(func.count(Case.id).desc(), Target.id)
        .limit(TOP_SITES))
    by_community = dict(db.session.execute(
        select(Target.village, func.count(Case.id)).join(Case, Case.target_id == Target.id)
        .where(Case.id.in_(ids), Case.created_at >= start, Case.created_at < end, Target.village != "")
        .group_by(Target.village)).all())
    paired = pairs_of(user, campaign)
    communities = [{"community": c, "paired": [u.code for u in paired.get(c, [])],
                    "paired_names": [u.name for u in paired.get(c, [])], "problems": by_community.get(c, 0)}
                   for c in sorted(set(by_community) | set(paired), key=lambda c: (-by_community.get(c, 0), c))]
    return {"campaign": campaign.code, "from": monday.isoformat(), "to": sunday.isoformat(),
            "communities": communities,
            "flags": {flag: label for flag, label in flags.items()},
            "units": rows, "kinds": kinds,
            "sites": [{"id": i, "name": n, "kind": k, "problems": c} for i, n, k, c in sites]}
