"""A campaign's weekly circulars (督查通报): the list and the office's publish form, one issue with
its photo pairs, its .docx; and the same on the JSON API."""
from __future__ import annotations

import io

from flask import Blueprint, flash, g, jsonify, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from casetrack.extensions import db
from casetrack.services.casework.attachments import process_photos
from casetrack.services.common.errors import Conflict, ValidationFailed
from casetrack.services.organisation.campaigns import campaign_taken_part_in
from casetrack.services.reports import circulars as cc
from casetrack.services.reports.bulletin_export import MIME
from casetrack.services.reports.campaign_week import week_of
from casetrack.web.api import _campaign_or_404, body, report_day
from casetrack.web.api import bp as api
from casetrack.web.attachments import send_attachment
from casetrack.web.boards import _campaign
from casetrack.web.openapi import DATE, doc, json_body, json_request, query, responses

bp = Blueprint("circulars", __name__, url_prefix="/boards/campaign")


def weekdays() -> list[str]:
    return [_("Monday"), _("Tuesday"), _("Wednesday"), _("Thursday"), _("Friday"), _("Saturday"), _("Sunday")]


@bp.before_request
@login_required
def _require_login():
    return None


def _day(value):
    """The week asked (any day of it), else the campaign's week to report on."""
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise ValidationFailed({"date": _("A date like 2026-07-31, please.")})
    return report_day(value)


def _list_page(chosen, errors=None, submitted=None, status: int = 200):
    day = cc.reported_day(chosen, _day((submitted or request.args).get("date")))
    monday, sunday = week_of(day)
    may = cc.may_publish(current_user, chosen)
    return render_template("boards/circulars.html", campaign=chosen, issues=cc.issues(current_user, chosen),
                           may_publish=may, candidates=cc.candidates(current_user, chosen) if may else [],
                           week={"from": monday, "to": sunday, "number": cc.week_number(chosen, monday)},
                           timetable=chosen.timetable, title=cc.title_of(chosen), errors=errors or {},
                           submitted=submitted, max_pairs=cc.MAX_PAIRS,
                           report_weekday=weekdays()[chosen.timetable.report_day - 1] if chosen.timetable else ""), status


@bp.get("/<code>/circulars")
def index(code: str):
    """The campaign's published circulars; for the office, the form that publishes a week."""
    return _list_page(_campaign(code))


@bp.post("/<code>/circulars")
def publish(code: str):
    chosen = _campaign(code)
    form = request.form
    try:
        issue = cc.publish(current_user, chosen, cc.reported_day(chosen, _day(form.get("date"))),
                           cases=form.getlist("cases"), signed_by=form.get("signed_by"),
                           main_to=form.get("main_to", ""), copy_to=form.get("copy_to", ""))
    except (ValidationFailed, Conflict) as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return _list_page(chosen, errors=getattr(exc, "errors", None) or {}, submitted=form,
                          status=422 if isinstance(exc, ValidationFailed) else 409)
    db.session.commit()
    flash(_("Issue %(n)d published; its figures will not change.", n=issue.number), "success")
    return redirect(url_for(".show", code=chosen.code, issue_id=issue.id))


@bp.get("/<code>/circulars/<int:issue_id>")
def show(code: str, issue_id: int):
    chosen = _campaign(code)
    issue = cc.get(current_user, chosen, issue_id)
    return render_template("boards/circular.html", campaign=chosen, issue=issue, figures=issue.figures,
                           number_line=cc.bi.number_line(issue.figures))


@bp.get("/<code>/circulars/<int:issue_id>.docx")
def document(code: str, issue_id: int):
    chosen = _campaign(code)
    return _docx(cc.get(current_user, chosen, issue_id))


@bp.get("/<code>/circulars/<int:issue_id>/photos/<int:attachment_id>")
def photo(code: str, issue_id: int, attachment_id: int):
    chosen = _campaign(code)
    return send_attachment(cc.photo(current_user, chosen, issue_id, attachment_id),
                           thumbnail=request.args.get("size") == "thumbnail")


def _docx(issue):
    f = issue.figures
    process_photos(cc.photo_ids(f), db.session.commit)  # any still pending: the document holds them processed
    name = f"{f.get('masthead') or ''}{f.get('year')}年第{f.get('number')}期-{f['unit']['name']}.docx"
    return send_file(io.BytesIO(cc.to_docx(f)), mimetype=MIME["docx"], as_attachment=True, download_name=name)


# -- the JSON API (on /api/v1) -----------------------------------------------------------------

CIRCULAR = {"type": "object", "properties": {
    "id": {"type": "integer"}, "campaign": {"type": "string"}, "type": {"type": "string"},
    "title": {"type": "string"}, "year": {"type": "integer"}, "number": {"type": "integer"},
    "total": {"type": "integer"}, "period_from": DATE, "period_to": DATE,
    "week_number": {"type": ["integer", "null"]}, "published_at": {"type": "string"},
    "signed_by": {"type": ["string", "null"]},
    "figures": {"type": "object", "description": "units, kinds, sites, flags, communities, narrative, pairs "
                                                 "(case, title, site, unit, before, after: attachment ids)"}}}


@api.get("/campaigns/<code>/circulars")
@doc(summary="A campaign's published weekly circulars (督查通报) I may read, newest first", tags=["reports"],
     responses=responses(("200", json_body({"type": "object", "properties": {
         "items": {"type": "array", "items": CIRCULAR}}})), 403, 404))
def api_circulars(code: str):
    chosen = campaign_taken_part_in(g.api_user.unit, code)
    return jsonify(items=[cc.as_json(i) for i in cc.issues(g.api_user, chosen)])


@api.post("/campaigns/<code>/circulars")
@doc(summary="Publish a week of the campaign as its next circular (the office): frozen, numbered in the "
             "campaign's own series", tags=["reports"],
     requestBody=json_request({"type": "object", "properties": {
         "date": {**DATE, "description": "any day of the week (default: the timetable's week to report on)"},
         "cases": {"type": "array", "items": {"type": "integer"},
                   "description": "cases whose photos before and after are shown side by side"},
         "signed_by": {"type": "string"}, "main_to": {"type": "string"}, "copy_to": {"type": "string"}}}),
     responses=responses(("201", json_body(CIRCULAR)), 403, 404, 409, 422))
def api_publish_circular(code: str):
    chosen = campaign_taken_part_in(g.api_user.unit, code)
    data = body()
    text = {k: data.get(k) for k in ("signed_by", "main_to", "copy_to")}
    if any(v is not None and not isinstance(v, str) for v in text.values()):
        raise ValidationFailed({k: _("Text, please.") for k, v in text.items()
                                if v is not None and not isinstance(v, str)})
    if not isinstance(data.get("cases", []), list):
        raise ValidationFailed({"cases": _("Case numbers, please.")})
    issue = cc.publish(g.api_user, chosen, cc.reported_day(chosen, _day(data.get("date"))),
                       cases=data.get("cases") or [], signed_by=text["signed_by"],
                       main_to=text["main_to"] or "", copy_to=text["copy_to"] or "")
    db.session.commit()
    return jsonify(cc.as_json(issue, full=True)), 201


@api.get("/campaigns/<code>/circulars/<int:issue_id>")
@doc(summary="One published circular of a campaign, its frozen figures and photo pairs; ?format=docx the "
             "document", tags=["reports"],
     parameters=query(format={"type": "string", "enum": ["json", "docx"]}),
     responses=responses(("200", json_body(CIRCULAR)), 404))
def api_circular(code: str, issue_id: int):
    issue = cc.get(g.api_user, _campaign_or_404(code), issue_id)
    if request.args.get("format") == "docx":
        return _docx(issue)
    return jsonify(cc.as_json(issue, full=True))

