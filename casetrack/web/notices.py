"""The inbox: notices that need me and supervision notes (督办) to acknowledge."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from casetrack.extensions import db
from casetrack.models import SupervisionNote
from casetrack.services.deadlines import extension_requests
from casetrack.services.casework import notices, shared
from casetrack.services.workdays.calendar import deadline_basis
from casetrack.services.casework import progress as reports
from casetrack.services.casework.cases import MAX_ID, assists_of, get_case, may_act, may_see, whole_number, workflow_of
from casetrack.services.workdays.clock import is_overdue, is_paused, pending_extension
from casetrack.services.common.errors import ServiceError

bp = Blueprint("notices", __name__, url_prefix="/notices")

KIND_LABELS = {
    "new_case": _l("New case in my unit"), "escalation": _l("Escalated to my unit"),
    "referral": _l("Referred to my unit"), "pre_warning": _l("Deadline approaching"),
    "overdue": _l("Overdue"), "supervision": _l("Supervision note"),
    "callback": _l("Call-back result"), "extension": _l("Extension"),
    "shared_problem": _l("Linked into a shared problem"), "revisit": _l("Revisit day reached"),
    "answer": _l("Answer to tell the resident"), "report_late": _l("Progress report due"),
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
    """A digest line per kind and day (a week a page); with kind and day, that line's notices."""
    kind, day = notices.group_args(request.args)
    cursor = request.args.get("cursor", "")
    cursor = int(cursor) if whole_number(cursor) and int(cursor) <= MAX_ID else None
    common = {"notes": notices.pending_notes(current_user), "kinds": KIND_LABELS,
              "describe": notices.describe, "link": notices.link, "kind": kind, "day": day}
    if kind and day:
        rows = notices.inbox(current_user, kind, day, cursor)
        more = rows[-1].id if len(rows) == notices.INBOX_SIZE else None
        return render_template("notices/inbox.html", notices=rows, more=more, **common)
    before = request.args.get("before")
    groups, older = notices.grouped(current_user, notices.group_args({"day": before})[1])
    return render_template("notices/inbox.html", groups=groups, older=older, **common)


@bp.post("/<int:notice_id>/read")
def read(notice_id: int):
    notices.mark_read(current_user, notice_id)
    db.session.commit()
    return redirect(url_for(".inbox"))


@bp.post("/read-group")
def read_group():
    """Mark read every notice of one digest line (one kind on one day)."""
    kind, day = notices.group_args(request.form)
    if kind and day:
        notices.mark_read(current_user, kind=kind, day=day)
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


@bp.app_template_global()
def case_clock(case) -> dict:
    """What the case page shows about the clock, and which deadline actions the user has."""
    wf = workflow_of(case)
    rules = wf.extensions
    pending = pending_extension(case, wf)
    members, members_total = shared.visible_members(current_user, case)
    return {
        "members": members, "members_hidden": members_total - len(members),
        "parent_visible": case.parent is not None and may_see(current_user, case.parent),
        "may_unlink": bool(members and wf.shared and current_user.role in wf.shared.link_roles
                           and case.state in shared.open_states(wf)),
        "basis": deadline_basis(case.deadline), "paused": is_paused(case, wf, pending),
        "overdue": is_overdue(case, wf, pending), "pending": pending,
        "may_request": bool(rules and pending is None and case.state in rules.states
                            and may_act(case, current_user)
                            and current_user.role in rules.request_roles),
        "may_decide": bool(rules and pending and current_user.role in rules.approve_roles),
        "may_supervise": notices.may_supervise(case, current_user),
        "may_report": reports.may_report(case, current_user), "how": reports.HOW,
        "may_feed_back": reports.may_feed_back(case, current_user),
        "assisting": assists_of(case),
        "notes": db.session.scalars(db.select(SupervisionNote).where(
            SupervisionNote.case_id == case.id).order_by(SupervisionNote.id)).all(),
    }


def _back(case_id: int, action):
    """Run a deadline action from the case page; errors are flashed, not lost."""
    try:
        action()
    except ServiceError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        for message in (getattr(exc, "errors", None) or {}).values():
            flash(message, "error")
    else:
        db.session.commit()
        flash(_("Done."), "success")
    return redirect(url_for("cases.show", case_id=case_id))


@bp.post("/cases/<int:case_id>/supervise")
def supervise(case_id: int):
    case = get_case(current_user, case_id)
    return _back(case_id, lambda: notices.add_supervision_note(current_user, case,
                                                               request.form.get("text")))


@bp.post("/cases/<int:case_id>/progress")
def progress(case_id: int):
    case = get_case(current_user, case_id)
    return _back(case_id, lambda: reports.add_progress(current_user, case, request.form.get("text"),
                                                       date=request.form.get("date")))


@bp.post("/cases/<int:case_id>/feedback")
def feedback(case_id: int):
    case = get_case(current_user, case_id)
    return _back(case_id, lambda: reports.record_feedback(current_user, case, request.form.get("text"),
                                                          request.form.get("how"), date=request.form.get("date")))


@bp.post("/cases/<int:case_id>/extension")
def ask_extension(case_id: int):
    case = get_case(current_user, case_id)
    return _back(case_id, lambda: extension_requests.request_extension(
        current_user, case, request.form.get("days", ""), request.form.get("reason")))


@bp.post("/extensions/<int:extension_id>/decision")
def decide_extension(extension_id: int):
    ext = extension_requests.get_extension(current_user, extension_id)
    return _back(ext.case_id, lambda: extension_requests.decide_extension(
        current_user, ext, request.form.get("approve") == "yes", request.form.get("note", "")))
