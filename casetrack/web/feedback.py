"""The daily feedback's pages (日反馈): a unit's report on its open problems, one page on the phone;
the office's list of the units that have not reported on a day (未反馈)."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from casetrack.extensions import db
from casetrack.services.casework import daily
from casetrack.services.common.errors import ServiceError, ValidationFailed
from casetrack.services.workdays.calendar import today
from casetrack.web.api import report_day
from casetrack.web.boards import _campaign

bp = Blueprint("feedback", __name__)


@bp.before_request
@login_required
def _require_login():
    return None


@bp.route("/boards/campaign/<code>/feedback", methods=["GET", "POST"])
def report(code: str):
    """Today's feedback of my unit: each open problem with the three choices, submitted once."""
    chosen = _campaign(code)
    problems = daily.open_problems(current_user, chosen)
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST" and problems:
        items = [{"case": c.id, "status": request.form.get(f"status_{c.id}", ""),
                  **({"expected_on": request.form.get(f"expected_{c.id}", "")}
                     if request.form.get(f"status_{c.id}") == "in_progress" else {}),
                  **({"reason": request.form.get(f"reason_{c.id}", "")}
                     if request.form.get(f"status_{c.id}") == "needs_coordination" else {})}
                 for c in problems if request.form.get(f"status_{c.id}")]
        try:
            result = daily.report_feedback(current_user, chosen, items)
        except ValidationFailed as exc:
            db.session.rollback()
            errors, status = exc.errors, 422
            flash(exc.message, "error")
        else:
            return _sent(chosen.code, result)
    today_reports = daily.reports_of([c.id for c in problems], today())
    return render_template("feedback/report.html", campaign=chosen, problems=problems, errors=errors,
                           form=request.form if request.method == "POST" else None, reports=today_reports,
                           statuses=daily.STATUSES, day=today()), status


def _sent(code: str, result: dict):
    """Commit the report and say so; a problem that needs coordination is asked on its own page."""
    db.session.commit()
    flash(_("Today's feedback sent: %(n)d problem(s).", n=result["reported"]), "success")
    if result["needs_coordination"]:
        flash(_("For a problem that needs coordination, open it and ask the office to coordinate."), "info")
    return redirect(url_for(".report", code=code))


@bp.get("/boards/campaign/<code>/unreported")
def unreported(code: str):
    """未反馈: the units that have not reported on a day (default today), with counts."""
    chosen = _campaign(code)
    try:
        day = report_day(request.args.get("day"), field="day")
    except ServiceError as exc:
        flash(exc.message, "error")
        day = today()
    return render_template("feedback/unreported.html", campaign=chosen,
                           figures=daily.feedback_day(current_user, chosen, day))
