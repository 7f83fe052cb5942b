"""The user's own settings: API tokens, listed, created (shown once) and revoked."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from casetrack.extensions import db
from casetrack.services.organisation import accounts
from casetrack.services.workdays.calendar import now
from casetrack.services.casework.cases import whole_number

bp = Blueprint("settings", __name__, url_prefix="/settings")


@bp.before_request
@login_required
def _require_login():
    return None


@bp.get("/")
def index():
    """My account: who I am, where I work, and my API tokens one click away."""
    return render_template("settings/index.html")


EXPIRY_CHOICES = (30, 90, 365)  # days; or none: until revoked


@bp.route("/tokens", methods=["GET", "POST"])
def tokens():
    new_token = None
    if request.method == "POST":
        days = request.form.get("expires_in_days", "").strip()
        new_token = accounts.create_token(current_user, request.form.get("name", "").strip() or "api",
                                          int(days) if whole_number(days) else days or None)
        db.session.commit()
    # The new token is rendered in this answer only (never in a flash cookie): only its hash is kept.
    return render_template("settings/tokens.html", tokens=accounts.tokens_of(current_user),
                           new_token=new_token, expiry_choices=EXPIRY_CHOICES,
                           moment=now()), 201 if new_token else 200


@bp.post("/tokens/<int:token_id>/revoke")
def revoke(token_id: int):
    if not accounts.revoke_token(token_id, current_user):
        abort(404)
    db.session.commit()
    flash(_("The token is revoked; programs using it are refused from now on."), "success")
    return redirect(url_for(".tokens"))
