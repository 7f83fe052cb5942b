"""Helpers shared by the page forms."""
from __future__ import annotations

from collections.abc import Iterable

from flask import flash
from flask_wtf import FlaskForm
from wtforms.fields.choices import SelectChoice

from casetrack.extensions import db
from casetrack.services.errors import ValidationFailed


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


def strip(value: str | None) -> str:
    """A StringField filter: '' for a missing field, no surrounding spaces."""
    return (value or "").strip()
