"""What the filing form offers first: the group's most used categories, the kind each was last
filed as, and what a visit or a target already says (target, resident, address, place)."""
from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select

from casetrack.extensions import db
from casetrack.models import Case, Category, Target, User, Visit
from casetrack.services.casework.cases import MAX_ID, scoped_cases
from casetrack.services.common.errors import NotFound

HOUSEHOLDS = ("farm_household", "urban_household", "newcomer_household")


def categories_by_use(user: User, categories: list[Category]) -> tuple[list[Category], dict[int, str]]:
    """The categories, those the user's group filed most first (ties: the usual order), and the
    kind the group last filed each one as: its default on the form."""
    if user.unit_id is None:
        return categories, {}
    mine = scoped_cases(user).where(Case.group_id == user.unit_id)
    uses = dict(db.session.execute(mine.with_only_columns(Case.category_id, func.count())
                                   .group_by(Case.category_id)).all())
    latest = mine.with_only_columns(func.max(Case.id)).group_by(Case.category_id)
    kinds = dict(db.session.execute(mine.with_only_columns(Case.category_id, Case.kind)
                                    .where(Case.id.in_(latest))).all())
    order = {c.id: n for n, c in enumerate(categories)}
    return sorted(categories, key=lambda c: (-uses.get(c.id, 0), order[c.id])), kinds


def _whole(value: Any) -> int | None:
    return int(value) if isinstance(value, str) and value.isdigit() and 0 < int(value) < MAX_ID else None


def prefill(user: User, visit: Any = None, target: Any = None) -> dict[str, str]:
    """The form's fields known from one of the group's visits (or targets): a visit or target of
    another group, or none at all, is a 404."""
    visit_row = target_row = None
    if visit is not None:
        ident = _whole(visit)
        visit_row = db.session.scalars(select(Visit).where(Visit.id == ident, Visit.group_id == user.unit_id)
                                       ).first() if ident and user.unit_id else None
        if visit_row is None:
            raise NotFound(_("No such visit in your group."))
        target_row = visit_row.target
    elif target is not None:
        ident = _whole(target)
        target_row = db.session.scalars(select(Target).where(Target.id == ident, Target.group_id == user.unit_id)
                                        ).first() if ident and user.unit_id else None
        if target_row is None:
            raise NotFound(_("No such visit target."))
    if target_row is None:
        return {}
    fields = {"target": str(target_row.id), "resident_address": target_row.address,
              "address": target_row.address,
              "resident_name": target_row.name if target_row.kind in HOUSEHOLDS else ""}
    if visit_row is not None:
        fields["visit"] = str(visit_row.id)
        fields["address"] = visit_row.address or target_row.address
        if visit_row.lat is not None and visit_row.long is not None:
            fields.update(location_lat=str(visit_row.lat), location_long=str(visit_row.long),
                          location_accuracy="" if visit_row.location_accuracy is None
                          else str(round(visit_row.location_accuracy)))
    return fields
