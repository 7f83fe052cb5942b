"""Petition pages: the receptions in my scope (接访), recording one, the cases I own (我的包案),
and recording a case taken down to the grass roots (带案下访) from its page."""
from __future__ import annotations

import re

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, IntegerField, SelectField, StringField, TextAreaField

from casetrack.extensions import db
from casetrack.services.casework import petitions as pt
from casetrack.services.casework.cases import get_case
from casetrack.services.common.errors import ValidationFailed
from casetrack.services.organisation.org import active_categories
from casetrack.web.labels import category_label
from casetrack.web.forms import choices, list_page_size, show_errors, strip

bp = Blueprint("petitions", __name__)

FORMS = [("visit", _l("Visit (来访)")), ("letter", _l("Letter (来信)")), ("online", _l("Online (网上)")),
         ("phone", _l("Phone (电话)"))]


@bp.before_request
@login_required
def _require_login():
    return None


class PetitionForm(FlaskForm):
    """The fields of record_petition; the service checks them, in the user's language."""
    date = DateField(_l("Date received"))
    form = SelectField(_l("Form"), validate_choice=False, choices=choices(FORMS))
    persons = IntegerField(_l("Persons"), default=1, render_kw={"inputmode": "numeric", "min": 1})
    collective = BooleanField(_l("Collective visit (集体访)"))
    place = StringField(_l("Where received"), filters=[strip], render_kw={"maxlength": 200})
    category = SelectField(_l("Category"), validate_choice=False)
    subject = StringField(_l("Subject"), filters=[strip], render_kw={"maxlength": 200})
    details = TextAreaField(_l("Details"))
    residents = TextAreaField(_l("Petitioners named: one a line, name and phone"),
                              render_kw={"autocomplete": "off"})
    file_case = BooleanField(_l("File it as a case now"))


def _people(text: str) -> list[dict[str, str]]:
    """'张三 13800000000' per line -> [{name, phone}]."""
    out = []
    for line in (text or "").splitlines():
        name, _sep, phone = line.strip().partition(" ")
        if name:
            out.append({"name": name, "phone": re.sub(r"\s+", "", phone)})
    return out


@bp.get("/petitions")
def index():
    q = (request.args.get("q") or "").strip()
    page, cursor = pt.list_petitions(current_user, request.args.get("cursor"), list_page_size(), q or None)
    return render_template("petitions/index.html", petitions=page, cursor=cursor,
                           figures=pt.petition_figures(current_user), q=q,
                           may_receive=pt.may_receive(current_user))


@bp.route("/petitions/new", methods=["GET", "POST"])
def new():
    if not pt.may_receive(current_user):
        abort(403)
    form = PetitionForm()
    form.category.choices = choices([("", "—")] + [(c.code, category_label(c)) for c in active_categories()])
    status = 200
    if form.is_submitted():
        try:
            petition = pt.record_petition(
                current_user, date=request.form.get("date", ""), form=form.form.data,
                persons=request.form.get("persons", ""), collective=bool(form.collective.data),
                place=form.place.data, subject=form.subject.data, details=form.details.data or "",
                category=form.category.data, residents=_people(form.residents.data),
                file_case=bool(form.file_case.data))
        except ValidationFailed as exc:
            form.date.errors, form.persons.errors = [], []   # the service's messages, not WTForms'
            show_errors(form, exc)
            status = 422
        else:
            db.session.commit()
            flash(_("Petition recorded."), "success")
            return redirect(url_for(".show", petition_id=petition.id))
    return render_template("petitions/new.html", form=form), status


@bp.get("/petitions/<int:petition_id>")
def show(petition_id: int):
    return render_template("petitions/show.html", petition=pt.get_petition(current_user, petition_id),
                           forms=dict(FORMS))


@bp.get("/petitions/mine")
def mine():
    """The cases I own (包案), with the action each waits for."""
    page, cursor = pt.owned_cases(current_user, request.args.get("cursor"), list_page_size())
    return render_template("petitions/mine.html", cases=page, cursor=cursor)


@bp.post("/cases/<int:case_id>/take-down")
def take_down(case_id: int):
    case = get_case(current_user, case_id)
    try:
        pt.take_down(current_user, case, date=request.form.get("date", ""),
                     cadres=request.form.get("cadres", ""))
    except ValidationFailed as exc:
        db.session.rollback()
        flash(" ".join([exc.message, *exc.errors.values()]), "error")
        return redirect(url_for("cases.show", case_id=case_id))
    db.session.commit()
    flash(_("Recorded: taken down to the grass roots."), "success")
    return redirect(url_for("cases.show", case_id=case_id))
