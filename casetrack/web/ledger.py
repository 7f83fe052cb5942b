"""Pages of the campaign ledger: suggestions and their answers, a leader's own page."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from casetrack.extensions import db
from casetrack.services.fieldwork import ledger
from casetrack.services.common.errors import Conflict, Forbidden, ValidationFailed
from casetrack.web.admin import POST_LABELS
from casetrack.web.forms import list_page_size

bp = Blueprint("ledger", __name__)


@bp.before_request
@login_required
def _require_login():
    return None


@bp.get("/suggestions")
def suggestions():
    """Suggestions in my scope, newest first, with an answer form where I may record one."""
    try:
        rows, cursor = ledger.list_suggestions(current_user, request.args, list_page_size())
    except ValidationFailed as exc:
        flash(exc.message, "error")
        rows, cursor = [], None
    return render_template("ledger/suggestions.html", rows=rows, cursor=cursor,
                           counts=ledger.suggestion_counts(current_user),
                           answered=request.args.get("answered", ""), answers=ledger.ANSWER_LABELS,
                           may_answer=lambda s: ledger.may_answer(current_user, s))


@bp.post("/suggestions/<int:suggestion_id>/answer")
def answer(suggestion_id: int):
    row = ledger.get_suggestion(current_user, suggestion_id)
    try:
        ledger.answer_suggestion(current_user, row, request.form.get("answer"), request.form.get("text"))
    except (ValidationFailed, Conflict) as exc:
        db.session.rollback()
        flash(exc.message if isinstance(exc, Conflict) else "; ".join(exc.errors.values()), "error")
    else:
        db.session.commit()
        flash(_("The answer is recorded; pass it back to the people."), "success")
    return redirect(url_for(".suggestions"))


@bp.get("/leader")
def leader():
    """A leader's own page: the post, the contact points (联系点) and the visits made."""
    if current_user.role != "leader":
        raise Forbidden(_("This page is for leaders."))
    visits, cursor = ledger.own_visits(current_user, request.args.get("before", ""), list_page_size())
    return render_template("ledger/leader.html", points=ledger.contact_points(current_user), visits=visits,
                           cursor=cursor, post=POST_LABELS.get(current_user.post or ""))


