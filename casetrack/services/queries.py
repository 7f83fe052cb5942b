"""Case lists: filters and keyset paging over the scoped query."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import or_, select

from casetrack.extensions import db
from casetrack.models import CASE_KINDS, Case, Category, Unit, User
from casetrack.services.calendar import SHANGHAI, today
from casetrack.services.cases import scoped_cases, unit_filter
from casetrack.services.errors import ValidationFailed

TRUE, FALSE = ("true", "1", "yes"), ("false", "0", "no")


@dataclass
class CaseFilters:
    state: str | None = None
    category: str | None = None
    kind: str | None = None
    unit: str | None = None
    overdue: bool | None = None
    q: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    cursor: int | None = None
    limit: int | None = None

    @classmethod
    def from_args(cls, args) -> CaseFilters:
        """Read filters from query-string arguments; a bad value is refused, not ignored."""
        errors: dict[str, str] = {}
        f = cls(state=args.get("state") or None, category=args.get("category") or None,
                unit=args.get("unit") or None, q=(args.get("q") or "").strip() or None)
        kind = args.get("kind") or None
        if kind and kind not in CASE_KINDS:
            errors["kind"] = _("Individual or shared, please.")
        f.kind = kind
        overdue = (args.get("overdue") or "").lower()
        if overdue:
            if overdue not in TRUE + FALSE:
                errors["overdue"] = _("true or false, please.")
            f.overdue = overdue in TRUE
        for name in ("date_from", "date_to"):
            if args.get(name):
                try:
                    setattr(f, name, date.fromisoformat(args[name]))
                except ValueError:
                    errors[name] = _("A date like 2026-07-31, please.")
        for name in ("cursor", "limit"):
            value = args.get(name)
            if value:
                if not value.isdigit() or int(value) < 1 or int(value) > 2**62:
                    errors[name] = _("A whole number, please.")
                else:
                    setattr(f, name, int(value))
        if errors:
            raise ValidationFailed(errors, _("Please correct the filters."))
        return f


def filtered_cases(user: User, f: CaseFilters):
    stmt = scoped_cases(user)
    if f.state:
        stmt = stmt.where(Case.state == f.state)
    if f.category:
        stmt = stmt.where(Case.category_id == select(Category.id).where(
            Category.code == f.category).scalar_subquery())
    if f.kind:
        stmt = stmt.where(Case.kind == f.kind)
    if f.unit:
        unit = db.session.scalars(select(Unit).where(Unit.code == f.unit)).first()
        stmt = stmt.where(unit_filter(unit) if unit else Case.id.is_(None))
    if f.overdue is not None:
        due = Case.deadline < today()
        stmt = stmt.where(due if f.overdue else or_(Case.deadline.is_(None), ~due))
    if f.q:
        like = "%" + f.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(or_(Case.title.ilike(like, escape="\\"),
                              Case.description.ilike(like, escape="\\")))
    if f.date_from:
        stmt = stmt.where(Case.created_at >= _start_of(f.date_from))
    if f.date_to:
        stmt = stmt.where(Case.created_at < _start_of(f.date_to + timedelta(days=1)))
    return stmt


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, SHANGHAI)


def list_cases(user: User, f: CaseFilters) -> tuple[list[Case], int | None]:
    """One page of cases, newest first, and the cursor of the next page (None at the end)."""
    size = min(f.limit or current_app.config["PAGE_SIZE"], 200)
    stmt = filtered_cases(user, f)
    if f.cursor:
        stmt = stmt.where(Case.id < f.cursor)
    rows = list(db.session.scalars(stmt.order_by(Case.id.desc()).limit(size + 1)))
    if len(rows) > size:
        return rows[:size], rows[size - 1].id
    return rows, None
