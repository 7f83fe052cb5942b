"""Pages for shared problems (共性问题) and the extension ledger: what the county office and
team leaders act on."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from casetrack.extensions import db
from casetrack.services.deadlines import extension_requests
from casetrack.services.casework import shared
from casetrack.services.casework.cases import MAX_ID, get_case, whole_number
from casetrack.services.common.errors import ServiceError

bp = Blueprint("shared", __name__)


@bp.before_request
@login_required
def _require_login():
    return None


@bp.get("/shared-problems/")
def proposals():
    return render_template("shared/proposals.html", proposals=shared.proposals(current_user))


@bp.post("/shared-problems/")
def link():
    ids = [int(i) for i in request.form.getlist("cases") if whole_number(i) and int(i) <= MAX_ID]
    try:
        parent = shared.link_cases(current_user, request.form.get("title"), ids)
    except ServiceError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for(".proposals"))
    db.session.commit()
    flash(_("Shared problem #%(id)d created from %(n)d cases.", id=parent.id, n=len(ids)), "success")
    return redirect(url_for("cases.show", case_id=parent.id))


@bp.post("/shared-problems/<int:parent_id>/unlink/<int:case_id>")
def unlink(parent_id: int, case_id: int):
    try:
        shared.unlink_case(current_user, get_case(current_user, parent_id), case_id)
    except ServiceError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        db.session.commit()
        flash(_("Case #%(id)d taken out of the shared problem.", id=case_id), "success")
    return redirect(url_for("cases.show", case_id=parent_id))


@bp.get("/extensions/ledger")
def ledger():
    return render_template("shared/ledger.html", rows=extension_requests.extension_ledger(current_user))
