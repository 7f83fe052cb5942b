"""Days the county declares off, on top of the official calendar."""
from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from casetrack.extensions import db
from casetrack.models import DayOff, User
from casetrack.services.workdays.calendar import forget_days_off, parse_day
from casetrack.services.common.errors import Conflict, Forbidden, NotFound, ValidationFailed
from casetrack.services.common.text import text_error

DECLARING_ROLES = ("county_officer", "admin")


def list_days_off() -> list[DayOff]:
    return list(db.session.scalars(select(DayOff).order_by(DayOff.day)))


def declare_day_off(actor: User, day: Any, reason: Any) -> DayOff:
    """Declare a day off for the county; deadlines set from now on skip it."""
    if actor.role not in DECLARING_ROLES:
        raise Forbidden(_("Only the county office declares days off."))
    errors: dict[str, str] = {}
    try:
        day = parse_day(day)
    except ValueError:
        errors["day"] = _("A date like 2026-07-31, please.")
    if not isinstance(reason, str) or not reason.strip():
        errors["reason"] = _("Please fill this in.")
    elif len(reason.strip()) > 200:
        errors["reason"] = _("At most %(n)d characters.", n=200)
    elif problem := text_error(reason.strip()):
        errors["reason"] = problem
    if errors:
        raise ValidationFailed(errors, _("Please correct the marked fields."))
    if db.session.scalars(select(DayOff).where(DayOff.day == day)).first() is not None:
        raise Conflict(_("That day is already declared off."), "duplicate")
    row = DayOff(day=day, reason=reason.strip(), declared_by_id=actor.id)
    db.session.add(row)
    db.session.flush()
    forget_days_off()
    return row


def remove_day_off(actor: User, day: date) -> None:
    if actor.role not in DECLARING_ROLES:
        raise Forbidden(_("Only the county office declares days off."))
    row = db.session.scalars(select(DayOff).where(DayOff.day == day)).first()
    if row is None:
        raise NotFound(_("That day is not declared off."))
    db.session.delete(row)
    db.session.flush()
    forget_days_off()
