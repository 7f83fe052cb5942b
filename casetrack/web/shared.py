"""Pages for shared problems (共性问题) and the extension ledger: what the county office and
team leaders act on."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from casetrack.extensions import db
from casetrack.i18n import localized
from casetrack.models import Case, Unit
from casetrack.services.deadlines import extension_requests
from casetrack.services.organisation import reference
from casetrack.services.casework import shared
from casetrack.services.casework.cases import MAX_ID, default_workflow, get_case, scoped_cases, whole_number
from casetrack.services.common.errors import ServiceError
from casetrack.web.forms import list_page_size
from casetrack.web.inputs import BadParameter

bp = Blueprint("shared", __name__)


@bp.before_request
@login_required
def _require_login():
    return None


PROPOSALS_PAGE = 5   # candidates a page shows (each may hold dozens of cases)
MEMBERS_SHOWN = 5    # a candidate's cases listed open; the rest folded below them


@bp.get("/shared-problems/")
def proposals():
    """Candidate shared problems, five to a page (keyset: after the candidate whose first case is
    `after`), each in the office's words with its cases by title."""
    found = shared.proposals(current_user)
    after = request.args.get("after", "")
    if after and not (whole_number(after) and int(after) <= MAX_ID):
        raise BadParameter({"after": _("A whole number, please.")})
    start = next((i + 1 for i, p in enumerate(found) if after and p["cases"][0] == int(after)), 0)
    page = found[start:start + PROPOSALS_PAGE]
    cursor = page[-1]["cases"][0] if start + PROPOSALS_PAGE < len(found) else None
    return render_template("shared/proposals.html", proposals=[_described(p) for p in page],
                           rows=_member_rows([i for p in page for i in p["cases"]]), cursor=cursor,
                           total=len(found), shown=MEMBERS_SHOWN,
                           threshold=default_workflow().shared.detection.text_similarity)


def _member_rows(ids: list[int]) -> dict[int, tuple[str, str]]:
    """Each listed case's title and group name, read in the user's scope."""
    stmt = scoped_cases(current_user).with_only_columns(Case.id, Case.title, Unit.name) \
        .join(Unit, Unit.id == Case.group_id).where(Case.id.in_(ids))
    return {cid: (title, group) for cid, title, group in db.session.execute(stmt)}


def _described(p: dict) -> dict:
    """A candidate in the office's words: its heading and, for each case but the first, why it
    joined (the same village as case N, or text N percent alike)."""
    category = reference.current().categories.get(p["category"])
    name = localized({"zh": category.name_zh, "en": category.name_en}) if category else p["category"]
    groups = p["groups"]
    heading = _("%(category)s · %(n)d open cases · from %(group)s and others, %(groups)d groups",
                category=name, n=len(p["cases"]), group=groups[0], groups=len(groups)) if len(groups) > 1 \
        else _("%(category)s · %(n)d open cases · from %(group)s", category=name, n=len(p["cases"]), group=groups[0])
    notes: dict[int, list[str]] = {}
    for r in p["reasons"]:
        first, joined = r["cases"]
        notes.setdefault(joined, []).append(
            _("same village or community as case %(id)d: %(village)s", id=first, village=r["village"])
            if r["rule"] == "village" else
            _("%(pct)d%% alike in wording to case %(id)d", pct=round(r["similarity"] * 100), id=first))
    return {**p, "heading": heading, "notes": notes}


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
    """The units' extensions, totals first, then a page of units (most extended first), keyset:
    after the unit coded `after`."""
    rows = extension_requests.extension_ledger(current_user)
    totals = {k: sum(r[k] for r in rows) for k in ("asked", "approved", "refused", "pending", "days_granted")}
    after, size = request.args.get("after", ""), list_page_size()
    start = next((i + 1 for i, r in enumerate(rows) if after and r["unit"] == after), 0)
    cursor = rows[start + size - 1]["unit"] if start + size < len(rows) else None
    return render_template("shared/ledger.html", rows=rows[start:start + size], totals=totals,
                           cursor=cursor, units=len(rows))
