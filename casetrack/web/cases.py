"""Case pages: my inbox, the list in my scope, a case with its timeline and actions, filing."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import HiddenField, MultipleFileField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice

from casetrack.extensions import db
from casetrack.i18n import localized
from casetrack.models import Target, Unit
from casetrack.services.casework.cases import allowed_triggers, case_events, case_to_fire, default_workflow, file_case, fire, get_case, registry, workflow_of
from casetrack.services.casework.attachments import attach, case_attachments, get_attachment, may_attach
from casetrack.services.common.errors import Conflict, Forbidden, ValidationFailed
from casetrack.services.casework.filing import categories_by_use, prefill
from casetrack.services.common.location import amap_url
from casetrack.services.organisation.org import active_categories
from casetrack.services.casework.queries import (LIST_ROW, CaseFilters, count_cases, list_cases, section, state_counts,
                                                 units_in_scope, waiting_for)
from casetrack.services.organisation.campaigns import (campaign_categories, campaign_named, campaigns, campaigns_of,
                                                       default_campaign)
from casetrack.services.fieldwork.targets import scoped_sites
from casetrack.web.labels import category_label
from casetrack.web.attachments import send_attachment
from casetrack.web.forms import LocationFields, choices, list_page_size, show_errors

# A phone opens its camera; static/photos.js makes large photos smaller before they are sent.
PHOTO_INPUT = {"accept": "image/*", "capture": "environment", "multiple": True, "data-resize": True}

bp = Blueprint("cases", __name__)


@bp.before_request
@login_required
def _require_login():
    return None


class FileCaseForm(LocationFields, FlaskForm):
    """The fields of file_case; the service checks them, in the user's language."""
    category = SelectField(_l("Category"), validate_choice=False)
    kind = SelectField(_l("Kind"), validate_choice=False,
                       choices=choices([("individual", _l("Individual problem (个性)")),
                                        ("shared", _l("Shared problem (共性)"))]))
    urgency = SelectField(_l("Urgency"), validate_choice=False, default="normal",
                          choices=choices([("normal", _l("Normal")), ("urgent", _l("Urgent"))]))
    title = StringField(_l("Title"), render_kw={"maxlength": 200})
    description = TextAreaField(_l("Description"))
    resident_name = StringField(_l("Resident's name"), render_kw={"maxlength": 60})
    resident_phone = StringField(_l("Resident's phone"),
                                 render_kw={"inputmode": "tel", "maxlength": 30, "autocomplete": "off"})
    resident_address = StringField(_l("Resident's address"), render_kw={"maxlength": 200})
    resident_id_tail = StringField(_l("Last digits of the resident's ID card"),
                                   render_kw={"maxlength": 6, "autocomplete": "off", "inputmode": "text"})
    target = SelectField(_l("Visit target"), validate_choice=False, default="")
    department = SelectField(_l("Responsible unit"), validate_choice=False, default="")
    visit = HiddenField()
    photos = MultipleFileField(_l("Photos (before the work)"), render_kw=PHOTO_INPUT)


@bp.get("/")
def index():
    """My inbox: the cases waiting for my action, overdue first, with counts."""
    if current_user.role == "admin":
        return redirect(url_for("admin.users"))
    stmt = waiting_for(current_user)
    held = current_user.unit.code if current_user.unit else None
    return render_template("cases/inbox.html", mine=section(stmt), counts=state_counts(stmt), held=held)


@bp.get("/cases")
def list_():
    filters = CaseFilters.from_args(request.args)
    filters.limit = filters.limit or list_page_size()
    page, cursor = list_cases(current_user, filters, *LIST_ROW)
    mine = campaigns_of(current_user)
    chosen = campaigns().get(filters.campaign) if filters.campaign else None
    flows = chosen.workflows if chosen else [c.workflow for c in mine] or [default_workflow().name]
    states = {n: s for name in flows for n, s in registry().latest(name).states.items()}
    return render_template("cases/index.html", cases=page, cursor=cursor, filters=filters,
                           total=count_cases(current_user, filters), campaigns=mine if len(mine) > 1 else [],
                           states=states, categories=campaign_categories(chosen, active_categories())
                           if chosen else active_categories(),
                           units=units_in_scope(current_user))


def filing_campaign(code):
    """The campaign a filing page is for: the one named, else the first whose workflow the
    user's role files in (an inspector's: the rectification), else the default."""
    if code:
        return campaign_named(code)
    mine = campaigns_of(current_user)
    return next((c for c in mine if current_user.role in registry().latest(c.workflow).filing_roles),
                default_campaign())


@bp.route("/cases/new", methods=["GET", "POST"])
def new():
    form = FileCaseForm()
    campaign = filing_campaign(request.args.get("campaign"))
    wf = registry().latest(campaign.workflow)
    at_sites = wf.filing.target_within == "county"   # an inspection: sites, no resident
    # The group's most used categories first; picking one sets the kind it was last filed as
    # (static/filing.js), so a filing from a visit is a category, a title and the button.
    ordered, kinds = categories_by_use(current_user, campaign_categories(campaign, active_categories()))
    form.category.choices = [SelectChoice("", "—")] + [
        SelectChoice(c.code, category_label(c), {"data-kind": kinds.get(c.id, "individual")}) for c in ordered]
    if request.method == "GET" and not at_sites:
        for name, value in prefill(current_user, request.args.get("visit"), request.args.get("target")).items():
            form[name].data = value
    if at_sites:
        targets = db.session.scalars(scoped_sites(current_user, campaign.code).where(Target.active.is_(True))
                                     .order_by(Target.name))
        form.target.label.text = _("Site")
        county = current_user.unit.ancestor("county") if current_user.unit else None
        form.department.choices = choices([("", _("The site's responsible unit"))] + [
            (u.code, u.name) for u in db.session.scalars(select(Unit).where(
                Unit.kind == "department", Unit.active.is_(True),
                Unit.path.startswith(county.path if county else "-")).order_by(Unit.code))])
    else:
        targets = db.session.scalars(select(Target).where(Target.group_id == current_user.unit_id)
                                     .order_by(Target.name)) if current_user.unit_id else []
    form.target.choices = choices([("", "—")] + [(str(t.id), t.name) for t in targets])
    status = 200
    if form.validate_on_submit():
        uploads = [(f.stream, f.filename) for f in request.files.getlist("photos") if f and f.filename]
        try:
            case = file_case(current_user, title=form.title.data,
                             description=form.description.data, category=form.category.data,
                             kind=form.kind.data, urgency=form.urgency.data,
                             resident={"name": form.resident_name.data,
                                       "phone": form.resident_phone.data,
                                       "address": form.resident_address.data,
                                       "id_tail": form.resident_id_tail.data},
                             target=form.target.data or None, visit=form.visit.data or None,
                             location=form.location(),
                             address=form.address.data, campaign=campaign.code,
                             fields={f: form[f].data for f in wf.filing.fields if f in form},
                             photos=uploads if wf.filing.photos else None)
            if wf.filing.photos is None:
                _attach_all(case, request.files.getlist("photos"), "before", "photos")
        except ValidationFailed as exc:
            show_errors(form, exc)
            status = 422
        else:
            db.session.commit()
            flash(_("Case %(id)d filed.", id=case.id), "success")
            return redirect(url_for(".show", case_id=case.id))
    return render_template("cases/new.html", form=form, campaign=campaign, at_sites=at_sites,
                           filing=wf.filing), status


def _show(case, errors=None, typed=None, open_trigger=None, stale=False, status=200):
    wf = workflow_of(case)
    departments = db.session.scalars(select(Unit).where(Unit.kind == "department",
                                                        Unit.active.is_(True)).order_by(Unit.code))
    team = case.group.ancestor("team")
    groups = db.session.scalars(select(Unit).where(Unit.parent_id == team.id, Unit.kind == "group")
                                .order_by(Unit.code)) if team else []
    from casetrack.services.casework.petitions import may_take_down, take_downs_of
    map_url = amap_url(case.lat, case.long) if case.lat is not None and case.long is not None else None
    actions = allowed_triggers(case, current_user)
    return render_template("cases/show.html", case=case, wf=wf, events=case_events(case), map_url=map_url,
                           attachments=case_attachments(case), may_attach=may_attach(case, current_user),
                           photo_input=PHOTO_INPUT,
                           take_downs=take_downs_of(case), may_take_down=may_take_down(current_user),
                           actions=actions, errors=errors or {}, unit_choices=unit_choices(case, wf, actions),
                           typed=typed or {}, open_trigger=open_trigger, stale=stale,
                           departments=list(departments), groups=list(groups)), status


def unit_choices(case, wf, actions) -> dict[str, list[Unit]]:
    """The units each `unit` field of the actions offered may name, in tree order."""
    out: dict[str, list[Unit]] = {}
    for name in {f for t in actions for f in t.fields if wf.fields[f].type == "unit"}:
        f = wf.fields[name]
        if f.within == "filing":
            out[name] = [u for u in (case.group, *[case.group.ancestor(k) for k in f.kinds]) if u and u.kind in f.kinds]
            out[name] = list(dict.fromkeys(out[name]))
            continue
        county = case.group.ancestor("county")
        out[name] = list(db.session.scalars(select(Unit).where(
            Unit.path.startswith(county.path), Unit.kind.in_(f.kinds), Unit.active.is_(True))
            .order_by(Unit.path))) if county else []
    return out


@bp.get("/cases/<int:case_id>")
def show(case_id: int):
    return _show(get_case(current_user, case_id))


@bp.post("/cases/<int:case_id>/<trigger>")
def act(case_id: int, trigger: str):
    case = case_to_fire(current_user, case_id)
    spec = next((t for t in allowed_triggers(case, current_user) if t.trigger == trigger), None)
    wf = workflow_of(case)
    names = sum(wf.trigger_fields(case.state, trigger, current_user.role), ()) if spec else ()
    fields = {name: request.form.getlist(name) if wf.fields[name].type == "departments"
              else request.form.get(name, "") for name in names}
    try:
        if spec is not None and spec.photos is not None:
            _attach_all(case, request.files.getlist("photos"), spec.photos.stage, "photos")
        fire(case, trigger, current_user, version=request.form.get("version"), **fields)
    except ValidationFailed as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return _show(get_case(current_user, case_id), errors=exc.errors, typed=fields,
                     open_trigger=trigger, status=422)
    except Conflict as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return _show(get_case(current_user, case_id), stale=True, status=409)
    db.session.commit()
    flash(_("Done: %(action)s.", action=localized(spec.label) if spec else trigger), "success")
    return redirect(url_for(".show", case_id=case_id))


def _attach_all(case, uploads, stage: str, field: str, caption: str = "") -> int:
    """Each file chosen in a form's file field; a refusal names the field and the file."""
    count = 0
    for upload in uploads:
        if not upload or not upload.filename:
            continue
        try:
            attach(case, current_user, upload.stream, upload.filename, stage, caption)
        except ValidationFailed as exc:
            problem = exc.errors.get("file") or exc.message
            raise ValidationFailed({field: f"{upload.filename}: {problem}"}, problem) from None
        count += 1
    return count


@bp.post("/cases/<int:case_id>/attachments")
def attach_files(case_id: int):
    """Photos or documents added from the case page."""
    case = get_case(current_user, case_id)
    if not may_attach(case, current_user):
        raise Forbidden(_("Only the unit handling this case and the group that filed it add files."))
    try:
        count = _attach_all(case, request.files.getlist("file"), request.form.get("stage", ""), "file",
                            request.form.get("caption", ""))
        if not count:
            raise ValidationFailed({"file": _("Choose a photo or a file first.")})
    except ValidationFailed as exc:
        db.session.rollback()
        flash(exc.errors.get("stage") or exc.errors.get("caption") or exc.message, "error")
        return _show(get_case(current_user, case_id), errors=exc.errors, open_trigger="attachments",
                     status=422)
    db.session.commit()
    flash(_("%(n)d file(s) added.", n=count), "success")
    return redirect(url_for(".show", case_id=case_id) + "#attachments")


@bp.get("/attachments/<int:attachment_id>")
def attachment(attachment_id: int):
    return send_attachment(get_attachment(current_user, attachment_id), thumbnail=False)


@bp.get("/attachments/<int:attachment_id>/thumbnail")
def attachment_thumbnail(attachment_id: int):
    return send_attachment(get_attachment(current_user, attachment_id), thumbnail=True)


@bp.route("/inspections/new", methods=["GET", "POST"])
def inspect():
    """An inspection of a site on the phone: pick the site, tick each item of its checklist
    达标 / 不达标, and for each failed item take its photo (and say what is wrong)."""
    from casetrack.services.fieldwork.inspections import FAIL, inspect_site
    campaign = filing_campaign(request.values.get("campaign"))
    if not campaign.checklists:
        raise Forbidden(_("This campaign inspects no sites."))
    sites = list(db.session.scalars(scoped_sites(current_user, campaign.code).where(Target.active.is_(True))
                                    .order_by(Target.name)))
    chosen = next((s for s in sites if str(s.id) == request.values.get("site")), None)
    checklist = campaign.checklists.get(chosen.kind, {}) if chosen else {}
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST" and chosen is not None:
        results = {code: request.form.get(f"result_{code}", "") for code in checklist}
        problems = {code: {"title": request.form.get(f"title_{code}", "").strip(),
                           "description": request.form.get(f"description_{code}", "")}
                    for code in checklist if results[code] == FAIL}
        photos = {code: [(f.stream, f.filename) for f in request.files.getlist(f"photos_{code}") if f and f.filename]
                  for code in problems}
        try:
            inspection = inspect_site(current_user, campaign.code, chosen.id, results,
                                      {c: {k: v for k, v in p.items() if v} for c, p in problems.items()},
                                      photos=photos)
        except ValidationFailed as exc:
            db.session.rollback()
            flash(exc.message, "error")
            errors, status = exc.errors, 422
        else:
            db.session.commit()
            flash(_("Inspection of %(site)s recorded: %(n)d problem(s) assigned.", site=chosen.name,
                    n=len(inspection.cases)), "success")
            return redirect(url_for(".list_", campaign=campaign.code))
    return render_template("cases/inspect.html", campaign=campaign, sites=sites, chosen=chosen,
                           checklist=checklist, errors=errors, form=request.form,
                           photo_input=PHOTO_INPUT), status
