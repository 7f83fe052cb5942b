"""The inbox: notices that need me and supervision notes (督办) to acknowledge."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from casetrack.extensions import db
from casetrack.services import notices

bp = Blueprint("notices", __name__, url_prefix="/notices")

KIND_LABELS = {
    "new_case": _l("New case in my unit"), "escalation": _l("Escalated to my unit"),
    "referral": _l("Referred to my unit"), "pre_warning": _l("Deadline approaching"),
    "overdue": _l("Overdue"), "supervision": _l("Supervision note"),
    "callback": _l("Call-back result"), "extension": _l("Extension"),
    "shared_problem": _l("Linked into a shared problem"),
}


@bp.before_request
@login_required
def _require_login():
    return None


@bp.app_context_processor
def unread_notices():
    """The unread count shown next to the inbox link on every page."""
    if current_user and current_user.is_authenticated:
        return {"unread_notices": notices.unread_count(current_user)}
    return {"unread_notices": 0}


@bp.get("/")
def inbox():
    return render_template("notices/inbox.html", notices=notices.inbox(current_user),
                           notes=notices.pending_notes(current_user), kinds=KIND_LABELS)


@bp.post("/<int:notice_id>/read")
def read(notice_id: int):
    notices.mark_read(current_user, notice_id)
    db.session.commit()
    return redirect(url_for(".inbox"))


@bp.post("/read-all")
def read_all():
    notices.mark_read(current_user)
    db.session.commit()
    return redirect(url_for(".inbox"))


@bp.post("/supervision/<int:note_id>/acknowledge")
def acknowledge(note_id: int):
    notices.acknowledge(current_user, note_id)
    db.session.commit()
    flash(_("Supervision note acknowledged."), "success")
    return redirect(url_for(".inbox"))
