"""The leader's dashboard: the campaign at a glance for a county, team or group, from the
bulletin's aggregates (daily figures summed per work group) only, never from case rows."""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask_babel import gettext as _

from casetrack.models import Unit, User
from casetrack.services.reports import assessment as asm
from casetrack.services.reports import bulletin as bl
from casetrack.services.fieldwork import coverage as cov
from casetrack.services.common.errors import Forbidden

# Who opens the dashboard: the office, team leaders and leaders (县领导), each over their unit.
DASHBOARD_ROLES = ("county_officer", "team_leader", "leader")
TOP = 5


def may_view(user: User) -> bool:
    return user.active and user.role in DASHBOARD_ROLES


def check_role(user: User) -> None:
    if not may_view(user):
        raise Forbidden(_("The dashboard is for the county office and team leaders."))


def headline(t: bl.Tallies, ids: list[int] | None = None) -> dict[str, Any]:
    """The figures a leader reads first, of the whole unit or of some of its groups."""
    total = t.total(ids)
    return {"visits": total["visits"], "found": total["found"], "resolved": total["resolved"],
            "solved": total["solved"], "explained": total["explained"], "overdue": total["open_overdue"],
            "open": total["open_end"], "funds": bl.money(total["funds"]), "donations": bl.money(total["donations"]),
            "rates": bl.rates(total)}


def week_of(day: date) -> tuple[date, date]:
    start = day - timedelta(days=day.weekday())
    return start, day


def dashboard(unit: Unit, start: date, end: date) -> dict[str, Any]:
    """Cumulative and period figures, coverage against 序时进度, this week against last, the
    units below with their figures, and the month's ranking (top and bottom five)."""
    first = bl.campaign_began(end)  # the bulletin's 截至目前 starts the same day
    cumulative = bl.Tallies(unit, first, end, targets=False)
    period = cumulative if start <= first else bl.Tallies(unit, start, end, targets=False)
    this_week = week_of(end)
    last_week = (this_week[0] - timedelta(days=7), this_week[0] - timedelta(days=1))
    weeks = [headline(bl.Tallies(unit, *w, targets=False)) for w in (this_week, last_week)]
    rep = cov.report(unit, end)
    coverage = cov.coverage(unit, end, rep)
    coverage["pace"] = cov.pace(rep[1], end)
    below = "team" if unit.kind not in ("team", "group") else "group"
    rows = {r["unit"].id: r for r in cov.breakdown(unit, end, rep)}
    children = []
    for u in (cumulative.teams if below == "team" else cumulative.groups):
        if u.id == unit.id or not u.active:
            continue
        ids = [u.id, *(g.id for g in cumulative.groups if g.parent_id == u.id)] if u.kind == "team" else [u.id]
        children.append({"unit": u, "cumulative": headline(cumulative, ids), "period": headline(period, ids),
                         "coverage": rows.get(u.id, {}).get("rate")})
    month_start = end.replace(day=1)
    ranking = asm.assess(unit, month_start, end)
    ranked = [r for r in ranking.of_kind(below) if r.unit.id != unit.id]
    petitions = bl.petition_figures(unit, first, end)
    return {"unit": unit, "from": start, "to": end, "first": first,
            "cumulative": headline(cumulative), "period": headline(period),
            "petitions": {"cumulative": petitions,
                          "period": petitions if start <= first else bl.petition_figures(unit, start, end)},
            "weeks": {"this": weeks[0], "last": weeks[1], "this_from": this_week[0], "last_from": last_week[0],
                      "last_to": last_week[1]},
            "coverage": coverage, "children": children, "below": below, "month": ranking.month,
            "top": ranked[:TOP], "bottom": list(reversed(ranked[TOP:]))[:TOP] if len(ranked) > TOP else []}
