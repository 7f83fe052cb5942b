"""Administration pages: units, departments, users and categories, without touching the database."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import PasswordField, SelectField, StringField

from casetrack.extensions import db
from casetrack.models import Category, Unit, User
from casetrack.services.organisation import accounts, org
from casetrack.services.casework.cases import MAX_ID, whole_number
from casetrack.services.common.errors import Forbidden, NotFound, ValidationFailed
from casetrack.web.forms import choices, list_page_size, show_errors, strip
from casetrack.workflow import UNIT_KINDS

bp = Blueprint("admin", __name__, url_prefix="/admin")

ROLE_LABELS = {"group_member": _l("Group member"), "group_leader": _l("Group leader"),
               "team_leader": _l("Team leader"), "county_officer": _l("County officer"),
               "department_handler": _l("Department handler"), "admin": _l("Administrator"),
               "leader": _l("Leader"), "inspector": _l("Inspector")}
POST_LABELS = {"city_principal": _l("Principal leader of the city"),
               "county_principal": _l("Principal leader of the county"),
               "secretary_city": _l("City party secretary"), "secretary_county": _l("County party secretary"),
               "secretary_township": _l("Township party secretary"),
               "secretary_village": _l("Village party secretary")}
KIND_LABELS = {"province": _l("Province"), "city": _l("City"), "county": _l("County office"),
               "department": _l("Department"), "team": _l("Work team"), "group": _l("Work group"),
               "inspection": _l("Inspection unit")}


@bp.before_request
@login_required
def _require_admin():
    if current_user.role != "admin":
        raise Forbidden(_("Only an administrator may do this."))


class UnitForm(FlaskForm):
    code = StringField(_l("Code"), filters=[strip])
    name = StringField(_l("Name"), filters=[strip])
    kind = SelectField(_l("Kind of unit"))
    parent = SelectField(_l("Above it"))


class UserForm(FlaskForm):
    username = StringField(_l("Username"), filters=[strip])
    name = StringField(_l("Name"), filters=[strip])
    role = SelectField(_l("Role"), choices=choices(ROLE_LABELS.items()))
    unit = SelectField(_l("Unit"))
    post = SelectField(_l("Post"), choices=choices([("", "—"), *POST_LABELS.items()]), default="")
    password = PasswordField(_l("Password"))


class CategoryForm(FlaskForm):
    code = StringField(_l("Code"), filters=[strip])
    name_zh = StringField(_l("Chinese name"), filters=[strip])
    name_en = StringField(_l("English name"), filters=[strip])


def all_units() -> list[Unit]:
    return list(db.session.scalars(select(Unit).order_by(Unit.path)))


def _get(model, ident: int):
    row = db.session.get(model, ident)
    if row is None:
        raise NotFound(_("There is nothing here."))
    return row


def created(form: FlaskForm, create, message) -> bool:
    """For a sent form: run the service, commit and say so; or mark the fields it refused."""
    if not form.validate_on_submit():
        return False
    try:
        row = create()
    except ValidationFailed as exc:
        show_errors(form, exc)
        return False
    db.session.commit()
    flash(message(row), "success")
    return True


def _units_page(kind: str | None):
    """The unit tree (or only the departments) and a form to add one."""
    form = UnitForm()
    units = db.session.scalars(select(Unit).where(Unit.kind != "group").order_by(Unit.path))
    form.kind.choices = choices((k, KIND_LABELS[k]) for k in ([kind] if kind else UNIT_KINDS))
    form.parent.choices = choices([("", "—")] + [(u.code, f"{u.code} {u.name}") for u in units
                                                  if u.kind != "group" and u.active])
    if created(form, lambda: org.create_unit(form.code.data, form.name.data, form.kind.data,
                                             form.parent.data or None),
               lambda unit: _("Unit %(code)s added.", code=unit.code)):
        return redirect(request.path)
    q = request.args.get("q", "").strip()
    shown, cursor, total = org.units_page(kind, q, request.args.get("after") or None, list_page_size())
    return render_template("admin/units.html", form=form, units=shown, kind=kind, q=q, cursor=cursor,
                           total=total, kind_labels=KIND_LABELS), 422 if form.errors else 200


@bp.route("/units", methods=["GET", "POST"])
def units():
    return _units_page(None)


@bp.route("/departments", methods=["GET", "POST"])
def departments():
    return _units_page("department")


@bp.post("/units/<int:unit_id>/active")
def unit_active(unit_id: int):
    unit = org.set_active(_get(Unit, unit_id), request.form.get("active") == "1")
    db.session.commit()
    flash(_("Unit %(code)s is now active.", code=unit.code) if unit.active
          else _("Unit %(code)s is retired.", code=unit.code), "success")
    return redirect(request.referrer or url_for(".units"))


@bp.route("/users", methods=["GET", "POST"])
def users():
    form = UserForm()
    form.unit.choices = choices([("", "—")] + [(u.code, f"{u.code} {u.name}") for u in all_units()])
    if created(form, lambda: accounts.create_user(form.username.data, form.password.data,
                                                  form.role.data, form.unit.data or None,
                                                  form.name.data or None, form.post.data or None),
               lambda user: _("User %(username)s added.", username=user.username)):
        return redirect(url_for(".users"))
    q = request.args.get("q", "").strip()
    after = request.args.get("after", "")
    rows, cursor = accounts.list_users(q, int(after) if whole_number(after) and int(after) <= MAX_ID else None,
                                       limit=list_page_size())
    return render_template("admin/users.html", form=form, users=rows, q=q, cursor=cursor,
                           total=accounts.count_users(q),
                           role_labels=ROLE_LABELS, post_labels=POST_LABELS), 422 if form.errors else 200


@bp.post("/users/<int:user_id>/post")
def user_post(user_id: int):
    user = _get(User, user_id)
    try:
        accounts.set_post(user, request.form.get("post", "").strip() or None)
    except ValidationFailed as exc:
        db.session.rollback()
        flash(f"{user.username}: {exc.message}", "error")
    else:
        db.session.commit()
        flash(_("%(username)s's post is saved.", username=user.username), "success")
    return redirect(url_for(".users"))


@bp.post("/users/<int:user_id>/password")
def reset_password(user_id: int):
    user = _get(User, user_id)
    try:
        accounts.reset_password(user, request.form.get("password", ""))
    except ValidationFailed as exc:
        db.session.rollback()
        flash(f"{user.username}: {exc.errors['password']}", "error")
    else:
        db.session.commit()
        flash(_("New password set for %(username)s; their sessions have ended and their API tokens "
                "are revoked.", username=user.username), "success")
    return redirect(url_for(".users"))


@bp.post("/users/<int:user_id>/active")
def user_active(user_id: int):
    user = _get(User, user_id)
    if user.id == current_user.id:
        raise Forbidden(_("You cannot deactivate yourself."))
    accounts.set_active(user, request.form.get("active") == "1")
    db.session.commit()
    flash(_("%(username)s may log in again.", username=user.username) if user.active
          else _("%(username)s is deactivated, logged out everywhere and their API tokens revoked.",
                 username=user.username),
          "success")
    return redirect(url_for(".users"))


@bp.route("/categories", methods=["GET", "POST"])
def categories():
    form = CategoryForm()
    if created(form, lambda: org.create_category(form.code.data, form.name_zh.data,
                                                 form.name_en.data),
               lambda category: _("Category %(code)s added.", code=category.code)):
        return redirect(url_for(".categories"))
    rows = db.session.scalars(select(Category).order_by(Category.position, Category.id))
    return render_template("admin/categories.html", form=form, categories=list(rows)), \
        422 if form.errors else 200


@bp.post("/categories/<int:category_id>/active")
def category_active(category_id: int):
    category = org.set_active(_get(Category, category_id),
                                       request.form.get("active") == "1")
    db.session.commit()
    flash(_("Category %(code)s is shown when filing.", code=category.code) if category.active
          else _("Category %(code)s is hidden when filing.", code=category.code), "success")
    return redirect(url_for(".categories"))
