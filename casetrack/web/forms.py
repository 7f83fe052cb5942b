"""Helpers shared by the page forms."""
from __future__ import annotations

from collections.abc import Iterable

from collections.abc import Callable

from flask import current_app, flash, redirect, render_template
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import HiddenField, StringField
from wtforms.fields.choices import SelectChoice

from casetrack.extensions import db
from casetrack.services.common.errors import ValidationFailed
from casetrack.services.integration.sheets import ImportFailed
from casetrack.web import import_progress


def list_page_size() -> int:
    """Rows a list page shows: five screens of a phone at most (LIST_PAGE_SIZE), or PAGE_SIZE, the
    API's page, when that is smaller."""
    return min(current_app.config["PAGE_SIZE"], current_app.config["LIST_PAGE_SIZE"])


def choices(pairs: Iterable[tuple[str, str]]) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]


def show_errors(form: FlaskForm, exc: ValidationFailed) -> None:
    """Roll back, mark each field the service refused, and say so at the top of the page."""
    db.session.rollback()
    for name, message in exc.errors.items():
        field = getattr(form, name.replace(".", "_"), None)  # resident.name -> resident_name
        if field is not None:
            field.errors = [*field.errors, message]
    flash(exc.message, "error")


class LocationFields:
    """The place of a case or a visit: an address, and the WGS-84 point the browser's
    geolocation puts in the hidden fields (static/locate.js). Named as the service's error keys
    (location.lat -> location_lat) so its messages land next to them."""
    address = StringField(_l("Place (address)"), render_kw={"maxlength": 200})
    location_lat = HiddenField()
    location_long = HiddenField()
    location_accuracy = HiddenField()

    def location(self) -> dict[str, str] | None:
        """The `location` to give the service; None when the browser gave none."""
        values = {"lat": self.location_lat.data, "long": self.location_long.data,
                  "accuracy": self.location_accuracy.data}
        return values if any((v or "").strip() for v in values.values()) else None


def strip(value: str | None) -> str:
    """A StringField filter: '' for a missing field, no surrounding spaces."""
    return (value or "").strip()


class ImportForm(FlaskForm):
    file = FileField(_l("Excel (.xlsx) or CSV file"), validators=[FileRequired()])


def import_page(service: Callable, done: Callable, next_url: str, template_url: str, title: str,
                intro: str):
    """Upload a sheet to an all-or-nothing import service; its bad rows are listed on the page."""
    form = ImportForm()
    errors, status = None, 200
    valid = form.validate_on_submit()
    if form.is_submitted() and import_progress.wanted():  # the page's script: progress as it goes
        if not valid:
            return import_progress.refused(form.errors)
        upload = form.file.data
        return import_progress.streamed(service, done, next_url, current_user._get_current_object(),
                                        upload.filename or "", upload.read())
    if valid:
        upload = form.file.data
        try:
            result = service(current_user, upload.filename or "", upload.read())
        except ImportFailed as exc:
            db.session.rollback()
            errors, status = exc.errors, 422
            flash(exc.message, "error")
        else:
            db.session.commit()
            flash(done(result), "success")
            return redirect(next_url)
    elif form.is_submitted():
        status = 422
    return render_template("import.html", form=form, errors=errors, title=title, intro=intro,
                           template_url=template_url), status
