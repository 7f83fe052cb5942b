"""Visit pages: the target list, its import, recording visits and rounds, coverage."""
from __future__ import annotations

import io
from datetime import date, timedelta
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import (BooleanField, DateField, FieldList, Form, FormField, IntegerField,
                     SelectField, SelectMultipleField, StringField, TextAreaField)
from wtforms.validators import DataRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from casetrack.extensions import db
from casetrack.models import VISIT_KINDS, Case, Target, Unit
from casetrack.services.fieldwork import coverage as cov, sites, targets as tg
from casetrack.services.organisation.campaigns import campaign_named, campaigns
from casetrack.services.workdays.calendar import today
from casetrack.services.casework.cases import scoped_cases, whole_number
from casetrack.services.common.errors import Forbidden, ValidationFailed
from casetrack.services.organisation.org import active_categories
from casetrack.services.fieldwork.visits import (group_cadres, import_visits, may_record, record_round, record_visit,
                                                target_visits, visit_template)
from casetrack.i18n import localized
from casetrack.web.forms import LocationFields, import_page, list_page_size

bp = Blueprint("visits", __name__)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@bp.before_request
@login_required
def _require_login():
    return None


def kind_choices(blank: bool = False):
    choices = [(k, localized(tg.KIND_LABELS[k])) for k in VISIT_KINDS]
    return [("", _("Any kind"))] + choices if blank else choices


def managed_groups() -> list[Unit]:
    if not tg.may_manage(current_user):
        return []
    return list(db.session.scalars(select(Unit).where(
        Unit.id.in_(tg.group_ids_under(current_user.unit)), Unit.active.is_(True)).order_by(Unit.code)))


def apply_errors(form, exc: ValidationFailed) -> None:
    """Put a service's field errors next to the form's fields ("problems.1.title" too)."""
    for name, message in exc.errors.items():
        parts = name.split(".")
        field = form._fields.get(parts[0]) or form._fields.get("_".join(parts))  # location.lat
        if len(parts) == 3 and isinstance(field, FieldList) and whole_number(parts[1]) \
                and int(parts[1]) < len(field):
            field = field[int(parts[1])].form._fields.get(parts[2])
        elif len(parts) != 1 and "_".join(parts) not in form._fields:
            field = None
        if field is not None:
            field.errors = [*field.errors, message]
        else:
            flash(f"{name}: {message}", "error")
    flash(exc.message, "error")


def submit(form, action, done) -> tuple[int, Any]:
    """On a valid POST run the service `action()`, commit and return (302, done(result));
    if it refuses, roll back and mark its errors on the form: (422, None)."""
    if not form.validate_on_submit():
        return (422 if request.method == "POST" else 200), None
    try:
        result = action()
    except ValidationFailed as exc:
        db.session.rollback()
        apply_errors(form, exc)
        return 422, None
    db.session.commit()
    return 302, done(result)


# -- targets -------------------------------------------------------------------------------

class TargetForm(FlaskForm):
    kind = SelectField(_l("Kind of target"), validators=[DataRequired()])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    address = StringField(_l("Address"), validators=[Length(max=200)])
    village = StringField(_l("Village or community"), validators=[Length(max=80)])
    group = SelectField(_l("Responsible work group"), validators=[DataRequired()])
    cadre = StringField(_l("Responsible cadre (username)"), validators=[Length(max=60)])
    code = StringField(_l("Code (household number, credit code…)"), validators=[Length(max=60)])
    lat = StringField(_l("Latitude (WGS-84)"), render_kw={"inputmode": "decimal", "maxlength": 20})
    long = StringField(_l("Longitude (WGS-84)"), render_kw={"inputmode": "decimal", "maxlength": 20})
    active = BooleanField(_l("Still to be visited"), default=True)


@bp.get("/targets")
def targets():
    f = tg.TargetFilters.from_args(current_user, request.args)
    page, cursor = tg.list_targets(current_user, f, size=list_page_size())
    return render_template("visits/targets.html", targets=page, cursor=cursor, filters=f,
                           total=tg.count_targets(current_user, f),
                           visited=tg.visited_ids(page), kinds=kind_choices(True),
                           labels=tg.KIND_LABELS, may_manage=tg.may_manage(current_user),
                           may_record=may_record(current_user))


def _target_form(target: Target | None):
    form = TargetForm(obj=None)
    form.kind.choices = kind_choices()
    form.group.choices = [(g.code, f"{g.code} {g.name}") for g in managed_groups()]
    if target is not None and request.method == "GET":
        form.kind.data, form.name.data, form.address.data = target.kind, target.name, target.address
        form.village.data, form.group.data = target.village, target.group.code
        form.cadre.data = target.cadre.username if target.cadre else ""
        form.code.data, form.active.data = target.code or "", target.active
        form.lat.data = "" if target.lat is None else str(target.lat)
        form.long.data = "" if target.long is None else str(target.long)
    def save():
        fields = {k: form[k].data for k in ("kind", "name", "address", "village", "group", "cadre", "code",
                                            "lat", "long")}
        if target is None:
            return tg.create_target(current_user, **fields)
        return tg.update_target(current_user, target, **fields, active=form.active.data)

    def done(saved: Target):
        flash(_("Saved: %(name)s.", name=saved.name), "success")
        return redirect(url_for(".target", target_id=saved.id))

    status, response = submit(form, save, done)
    if response is not None:
        return response
    return render_template("visits/target_form.html", form=form, target=target), status


@bp.route("/targets/new", methods=["GET", "POST"])
def new_target():
    if not tg.may_manage(current_user):
        raise Forbidden(_("You may not do this."))
    return _target_form(None)


@bp.route("/targets/<int:target_id>/edit", methods=["GET", "POST"])
def edit_target(target_id: int):
    target = tg.get_target(current_user, target_id)
    if not tg.may_manage(current_user, target.group):
        raise Forbidden(_("You may not do this."))
    return _target_form(target)


@bp.get("/targets/<int:target_id>")
def target(target_id: int):
    row = tg.get_target(current_user, target_id)
    cases = db.session.scalars(scoped_cases(current_user).where(Case.target_id == row.id)
                               .order_by(Case.id.desc()).limit(100))
    return render_template("visits/target.html", target=row, visits=target_visits(row), cases=list(cases),
                           labels=tg.KIND_LABELS,
                           may_manage=tg.may_manage(current_user, row.group),
                           may_record=may_record(current_user) and current_user.unit_id == row.group_id)


@bp.route("/targets/import", methods=["GET", "POST"])
def import_targets():
    campaign = request.args.get("campaign") or None
    if campaign and campaign != campaigns().default:   # another campaign's sites (点位)
        chosen = campaign_named(campaign)
        return import_page(sites.importer(chosen.code), lambda r: _(
            "%(imported)d sites imported, %(updated)d updated.", **r),
            url_for(".targets", campaign=chosen.code), url_for(".import_template", campaign=chosen.code),
            _("Import the sites of %(campaign)s", campaign=localized(chosen.name)), _(
            "One site per row, with the headers of the template: its kind, community and responsible "
            "unit (by name or code). Every row is checked first: if any row is wrong, nothing is "
            "imported. A row with the 编号, or the name and community, of a known site updates it."))
    return import_page(tg.import_targets, lambda r: _(
        "%(imported)d targets imported, %(updated)d updated.", **r),
        url_for(".targets"), url_for(".import_template"), _("Import targets"), _(
        "One target per row, with the headers of the template. Every row is checked first: if "
        "any row is wrong, nothing is imported. Rows whose 编号 is already known update that target."))


@bp.get("/targets/import-template")
def import_template():
    campaign = request.args.get("campaign") or None
    if campaign and campaign != campaigns().default:
        return send_file(io.BytesIO(sites.site_template(current_user, campaign_named(campaign))), mimetype=XLSX,
                         as_attachment=True, download_name="点位导入模板.xlsx")
    return send_file(io.BytesIO(tg.import_template(current_user)), mimetype=XLSX,
                     as_attachment=True, download_name="走访对象导入模板.xlsx")


@bp.route("/visits/import", methods=["GET", "POST"])
def import_visits_page():
    if not may_record(current_user):
        raise Forbidden(_("Only a work group's cadres record visits."))
    return import_page(import_visits, lambda r: _(
        "%(imported)d visits imported, %(skipped)d were there already.", **r),
        url_for(".targets"), url_for(".visit_import_template"), _("Import visits"), _(
        "One visit per row, the target by its 编号. Every row is checked first: if any row is "
        "wrong, nothing is imported. A target's visit on a day already entered is skipped."))


@bp.get("/visits/import-template")
def visit_import_template():
    return send_file(io.BytesIO(visit_template()), mimetype=XLSX, as_attachment=True,
                     download_name="走访记录导入模板.xlsx")


# -- visits --------------------------------------------------------------------------------

class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class ProblemForm(Form):
    title = StringField(_l("Problem found"), validators=[Optional(), Length(max=200)])
    # the service checks both and says what is wrong; empty entries are skipped
    category = SelectField(_l("Category"), validate_choice=False)
    kind = SelectField(_l("Kind"), validate_choice=False)
    description = TextAreaField(_l("Description"), validators=[Length(max=4000)])
    resident_name = StringField(_l("Resident's name"), validators=[Length(max=60)])
    resident_phone = StringField(_l("Resident's phone"), validators=[Length(max=30)])


class VisitForm(LocationFields, FlaskForm):
    target = SelectField(_l("Visit target"), validators=[DataRequired()])
    date = DateField(_l("Date"), validators=[DataRequired()])
    cadres = MultiCheckboxField(_l("Cadres who went"))
    notes = TextAreaField(_l("What was heard"), validators=[Length(max=4000)])
    suggestions = IntegerField(_l("Opinions and suggestions collected"), default=0,
                               validators=[Optional(), NumberRange(min=0, max=10000)])
    problems = FieldList(FormField(ProblemForm), min_entries=3, max_entries=10)


def group_target_choices() -> list[tuple[str, str]]:
    """The group's active targets, not yet visited first; ✓ marks those visited already."""
    rows = list(db.session.scalars(select(Target).where(
        Target.group_id == current_user.unit_id, Target.active.is_(True))
        .order_by(tg.visited_by(), Target.village, Target.name)))
    seen = tg.visited_ids(rows)
    return [(str(t.id), f"{t.name} · {t.village or t.address}" + (" ✓" if t.id in seen else ""))
            for t in rows]


def cadre_choices() -> list[tuple[str, str]]:
    return [(u.username, u.name) for u in group_cadres(current_user.unit)]


@bp.route("/visits/new", methods=["GET", "POST"])
def new_visit():
    if not may_record(current_user):
        raise Forbidden(_("Only a work group's cadres record visits."))
    form = VisitForm()
    form.target.choices, form.cadres.choices = group_target_choices(), cadre_choices()
    cats = [(c.code, localized({"zh": c.name_zh, "en": c.name_en})) for c in active_categories()]
    for sub in form.problems:
        sub.category.choices = [("", "—"), *cats]
        sub.kind.choices = [("individual", _("Individual problem (个性)")),
                            ("shared", _("Shared problem (共性)"))]
    if request.method == "GET":
        form.date.data = today()
        form.cadres.data = [current_user.username]
        form.target.data = request.args.get("target", "")
    def save():
        entries = [e.form for e in form.problems]
        filled = [i for i, p in enumerate(entries) if (p.title.data or "").strip()]
        problems = [{"title": p.title.data, "category": p.category.data, "kind": p.kind.data,
                     "description": p.description.data,
                     "resident": {"name": p.resident_name.data, "phone": p.resident_phone.data}}
                    for p in (entries[i] for i in filled)]
        try:
            return record_visit(current_user, target=form.target.data, date=form.date.data,
                                cadres=form.cadres.data, notes=form.notes.data,
                                suggestions=form.suggestions.data, problems=problems,
                                location=form.location(), address=form.address.data)
        except ValidationFailed as exc:  # problem n of those sent is the form's entry filled[n]
            exc.errors = {_entry_key(k, filled): v for k, v in exc.errors.items()}
            raise

    def done(result):
        visit, cases = result
        flash(_("Visit recorded; %(n)d problems filed.", n=len(cases)), "success")
        return redirect(url_for(".target", target_id=visit.target_id))

    status, response = submit(form, save, done)
    if response is not None:
        return response
    return render_template("visits/new.html", form=form), status


def _entry_key(key: str, filled: list[int]) -> str:
    """'problems.0.title' of the problems sent is the form's entry filled[0]."""
    parts = key.split(".")
    if parts[0] == "problems" and len(parts) > 1 and whole_number(parts[1]) and int(parts[1]) < len(filled):
        parts[1] = str(filled[int(parts[1])])
    return ".".join(parts)


class RoundForm(FlaskForm):
    date = DateField(_l("Date"), validators=[DataRequired()])
    cadres = MultiCheckboxField(_l("Cadres who went"))
    targets = MultiCheckboxField(_l("Targets visited"), validators=[DataRequired()])
    notes = TextAreaField(_l("Notes"), validators=[Length(max=4000)])


@bp.route("/visits/round", methods=["GET", "POST"])
def round_():
    if not may_record(current_user):
        raise Forbidden(_("Only a work group's cadres record visits."))
    form = RoundForm()
    form.targets.choices, form.cadres.choices = group_target_choices(), cadre_choices()
    if request.method == "GET":
        form.date.data = today()
        form.cadres.data = [current_user.username]
    def done(visits):
        flash(_("%(n)d visits recorded.", n=len(visits)), "success")
        return redirect(url_for(".coverage"))

    status, response = submit(form, lambda: record_round(
        current_user, targets=form.targets.data, date=form.date.data, cadres=form.cadres.data,
        notes=form.notes.data), done)
    if response is not None:
        return response
    return render_template("visits/round.html", form=form), status


# -- coverage ------------------------------------------------------------------------------

class MilestoneForm(FlaskForm):
    due_on = DateField(_l("By"), validators=[DataRequired()])
    target_percent = IntegerField(_l("Coverage due (%)"),
                                  validators=[DataRequired(), NumberRange(min=0, max=100)])


@bp.get("/coverage")
def coverage():
    unit, day = cov.unit_and_day(current_user, request.args)
    rep = cov.report(unit, day)
    figures, stones = cov.coverage(unit, day, rep), rep[1]
    return render_template(
        "visits/coverage.html", unit=unit, as_of=day, figures=figures, labels=tg.KIND_LABELS,
        rows=cov.breakdown(unit, day, rep), status=cov.current_status(figures["milestones"], day),
        chart=chart(unit, day, stones, figures["assigned"]), stones=stones, form=MilestoneForm(),
        may_set=current_user.role == "county_officer" and unit.id == current_user.unit_id)


@bp.post("/coverage/milestones")
def set_milestone():
    form = MilestoneForm()
    if form.validate_on_submit():
        cov.set_milestone(current_user, form.due_on.data, form.target_percent.data)
        db.session.commit()
        flash(_("Timetable saved."), "success")
    else:
        flash(_("A date and a percentage from 0 to 100, please."), "error")
    return redirect(url_for(".coverage"))


@bp.post("/coverage/milestones/<int:milestone_id>/delete")
def delete_milestone(milestone_id: int):
    cov.delete_milestone(current_user, milestone_id)
    db.session.commit()
    flash(_("Timetable saved."), "success")
    return redirect(url_for(".coverage"))


@bp.get("/coverage/unvisited")
def unvisited():
    unit, day = cov.unit_and_day(current_user, request.args)
    rows, cursor, total = cov.unvisited_page(unit, day, request.args.get("cursor"), list_page_size())
    return render_template("visits/unvisited.html", unit=unit, as_of=day, targets=rows, cursor=cursor,
                           total=total, labels=tg.KIND_LABELS)


@bp.get("/coverage/unvisited.xlsx")
def unvisited_xlsx():
    unit, day = cov.unit_and_day(current_user, request.args)
    return send_file(io.BytesIO(cov.unvisited_xlsx(unit, day)), mimetype=XLSX, as_attachment=True,
                     download_name=f"未走访对象-{unit.name}-{day.isoformat()}.xlsx")


def chart(unit: Unit, as_of: date, stones, assigned: int, width: int = 640, height: int = 240) -> dict:
    """Coverage over time against the milestones, as SVG coordinates (drawn by the template)."""
    firsts = cov.first_visits(unit)
    days = [d for d, _n in firsts] + [m.due_on for m in stones]
    start = min(days + [as_of - timedelta(days=30)])
    end = max(days + [as_of])
    span = max((end - start).days, 1)
    left, right, top, bottom = 44, 12, 12, 28

    def x(day: date) -> float:
        return round(left + (width - left - right) * (day - start).days / span, 1)

    def y(rate: float) -> float:
        return round(top + (height - top - bottom) * (1 - rate), 1)

    points, done = [(x(start), y(0))], 0
    for day, n in firsts:
        if day > as_of:
            break
        points.append((x(day), points[-1][1]))
        done += n
        points.append((x(day), y(done / assigned if assigned else 0)))
    points.append((x(as_of), points[-1][1]))
    return {"width": width, "height": height, "line": " ".join(f"{a},{b}" for a, b in points),
            "plan": " ".join(f"{x(m.due_on)},{y(m.target)}" for m in stones),
            "stones": [{"x": x(m.due_on), "y": y(m.target), "label": f"{m.target_percent}% {m.due_on}"}
                       for m in stones],
            "grid": [{"y": y(r / 100), "label": f"{r}%"} for r in (0, 25, 50, 75, 100)],
            "start": start, "end": end, "left": left, "bottom": height - bottom,
            "right": width - right, "today": x(as_of)}
