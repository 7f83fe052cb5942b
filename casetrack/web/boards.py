"""Boards: a team's open cases by group and state, the county office's, a department's."""
from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_babel import gettext as _
from sqlalchemy import select
from flask_login import current_user, login_required

from casetrack.models import Case, Unit
from casetrack.services.casework.cases import default_workflow, registry, scoped_cases
from casetrack.services.common.errors import Forbidden
from casetrack.services.casework.progress import last_reports
from casetrack.services.casework.queries import (REVISIT_ORDER, Section, explained_cases, open_states,
                                                 referred_by_teams, section, state_counts, team_board,
                                                 waiting_for)
from casetrack.extensions import db
from casetrack.services.casework.daily import open_problems
from casetrack.services.fieldwork.sites import may_import as may_import_sites
from casetrack.services.organisation.campaigns import (OFFICE_KINDS, campaign_taken_part_in, campaigns_of,
                                                       default_campaign)
from casetrack.services.fieldwork.targets import KIND_LABELS

bp = Blueprint("boards", __name__, url_prefix="/boards")


@bp.before_request
@login_required
def _require_login():
    return None


def require_unit(kind: str) -> None:
    if current_user.unit is None or current_user.unit.kind != kind:
        raise Forbidden(_("This page is for another kind of unit."))


def open_counts() -> dict[str, tuple[int, int]]:
    stmt = scoped_cases(current_user).where(Case.state.in_(open_states()))
    return {s: (n, late or 0) for s, n, late in state_counts(stmt)}


def open_figures() -> Section:
    """All open cases in my scope: how many, overdue, due this week (no rows listed)."""
    return section(scoped_cases(current_user).where(Case.state.in_(open_states())), limit=0)


@bp.get("/team")
def team():
    """Every open case of the team's groups, counted by group and state; what waits for the team."""
    require_unit("team")
    groups, counts = team_board(current_user)
    states = [s for s in default_workflow().states.values() if not s.final]
    return render_template("boards/team.html", groups=groups, counts=counts, states=states,
                           totals=open_counts(), figures=open_figures(),
                           mine=section(waiting_for(current_user)),
                           mine_link={"held_by": current_user.unit.code})


@bp.get("/county")
def county():
    """Incoming escalations, referrals out with their due dates, cases awaiting verification."""
    require_unit("county")
    wf = default_workflow()
    incoming = wf.level_state("county")
    referred = wf.level_state("department")
    verifying = [s.name for s in wf.states.values() if s.remember == "resolver"]
    held = current_user.unit.code
    resting = list(wf.revisit_states())
    sections = [
        ("incoming", _("Incoming escalations"), section(waiting_for(current_user, [incoming])),
         {"held_by": held, "state": incoming}),
        ("referred", _("Referred to departments"),
         section(scoped_cases(current_user).where(Case.state == referred)), {"state": referred}),
        ("verifying", _("Awaiting verification"), section(waiting_for(current_user, verifying)),
         {"held_by": held, **({"state": verifying[0]} if len(verifying) == 1 else {})}),
        # a team's own referrals, which the office may take over
        ("team_referred", _("Referred by work teams"), section(referred_by_teams(current_user)),
         {"state": referred}),
        ("explained", _("Explained, with the revisit date"),
         section(explained_cases(current_user), order=REVISIT_ORDER),
         {"state": resting[0]} if len(resting) == 1 else {}),
    ]
    shown = [c.id for _key, _title, sec, _link in sections for c in sec.cases]
    return render_template("boards/county.html", sections=sections, totals=open_counts(),
                           figures=open_figures(), states=[s for s in wf.states.values() if not s.final],
                           last_reports=last_reports(shown))


@bp.get("/department")
def department():
    """The cases referred to my department: those waiting for us, and counts of all of them."""
    require_unit("department")
    counts = {s: (n, late or 0) for s, n, late in state_counts(scoped_cases(current_user))}
    mine = campaigns_of(current_user)
    return render_template("boards/department.html", mine=section(waiting_for(current_user)),
                           mine_link={"held_by": current_user.unit.code}, totals=counts,
                           figures=section(scoped_cases(current_user), limit=0),
                           states=[s for c in mine for s in registry().latest(c.workflow).states.values()],
                           campaigns=[{"code": c.code, "name": c.name, "default": c.code == default_campaign().code}
                                      for c in mine])


@bp.get("/campaign/<code>/week")
def campaign_week(code: str):
    """A campaign's week by responsible unit (the weekly circular's figures) and its sites with
    most problems; ?date= any day of the week."""
    from casetrack.services.reports.campaign_week import week_figures
    from casetrack.web.api import report_day
    chosen = _campaign(code)
    week = week_figures(current_user, chosen, report_day(request.args.get("date")))
    return render_template("boards/campaign_week.html", campaign=chosen, week=week,
                           kind_labels=KIND_LABELS)


def _campaign(code: str):
    """The campaign of the page, if the user's unit takes part in it (404 / 403 otherwise)."""
    return campaign_taken_part_in(current_user.unit, code)


@bp.get("/campaign/<code>")
def campaign(code: str):
    """One campaign's board: its open cases in my scope, counted by state, what waits for my
    unit, and for an office the open cases by the unit holding them (the units behind)."""
    chosen = _campaign(code)
    wf = registry().latest(chosen.workflow)
    open_ = [s.name for s in wf.states.values() if not s.final]
    stmt = scoped_cases(current_user).where(Case.campaign == chosen.code)
    live = stmt.where(Case.state.in_(open_))
    by_unit: dict[int, dict[str, tuple[int, int]]] = {}
    units: list[Unit] = []
    if current_user.unit.kind in OFFICE_KINDS:
        for unit_id, state, n, late in state_counts(live, Case.unit_id):
            by_unit.setdefault(unit_id, {})[state] = (n, late or 0)
        units = list(db.session.scalars(select(Unit).where(Unit.id.in_(by_unit)).order_by(Unit.code)))
    return render_template("boards/campaign.html", campaign=chosen, states=list(wf.states.values()),
                           totals={s: (n, late or 0) for s, n, late in state_counts(stmt)},
                           figures=section(live, limit=0), units=units, by_unit=by_unit,
                           mine=section(waiting_for(current_user).where(Case.campaign == chosen.code)),
                           mine_link={"held_by": current_user.unit.code, "campaign": chosen.code},
                           may_import=may_import_sites(current_user, chosen),
                           may_report=bool(open_problems(current_user, chosen)))
