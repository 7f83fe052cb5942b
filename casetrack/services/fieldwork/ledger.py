"""More than problems: suggestions answered, leaders' contact points and visits.

Suggestions (意见建议) are scoped like cases: a user sees those collected by the groups of the
user's subtree or to be answered by a unit of it (a department: those it must answer);
outside: not found. The group that collected one records the answer and passes it back."""
from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import false, func, or_, select

from casetrack.extensions import db
from casetrack.models import ANSWERS, ContactPoint, Suggestion, Target, Unit, User, Visit, visit_cadres
from casetrack.services.workdays.calendar import now
from casetrack.services.casework.cases import MAX_ID, whole_number
from casetrack.services.common.errors import Conflict, Forbidden, NotFound, ValidationFailed
from casetrack.services.fieldwork.targets import group_ids_under
from casetrack.services.common.text import text_error
from casetrack.services.fieldwork.visits import MAX_SUGGESTION_TEXT, VISITORS

ANSWER_LABELS = {"adopted": _l("Adopted"), "partly_adopted": _l("Partly adopted"),
                 "explained": _l("Explained in reply")}
PAGE = 50


# -- suggestions -----------------------------------------------------------------------------

def scoped_suggestions(user: User):
    """Every suggestion query starts here."""
    stmt = select(Suggestion)
    if not user.active or user.unit is None or user.role == "admin":
        return stmt.where(false())
    if user.unit.kind == "department":
        return stmt.where(Suggestion.unit_id == user.unit_id)
    return stmt.where(or_(Suggestion.group_id.in_(group_ids_under(user.unit)),
                          Suggestion.unit_id.in_(select(Unit.id).where(Unit.path.startswith(user.unit.path)))))


def get_suggestion(user: User, suggestion_id: int) -> Suggestion:
    row = db.session.scalars(scoped_suggestions(user).where(Suggestion.id == suggestion_id)).first() \
        if 0 < suggestion_id < MAX_ID else None
    if row is None:
        raise NotFound(_("No such suggestion."))
    return row


def suggestion_counts(user: User) -> tuple[int, int]:
    """The suggestions in the user's scope and how many of them are answered, counted by the database."""
    total, answered = db.session.execute(scoped_suggestions(user).with_only_columns(
        func.count(Suggestion.id), func.count(Suggestion.answer))).one()
    return total or 0, answered or 0


def list_suggestions(user: User, args, size: int = PAGE) -> tuple[list[Suggestion], int | None]:
    """One page of suggestions in the user's scope, newest first (keyset on id): filter
    `answered` (true/false); `before` is the cursor of the next page."""
    stmt = scoped_suggestions(user)
    answered = args.get("answered", "")
    if answered in ("true", "false"):
        stmt = stmt.where(Suggestion.answer.is_not(None) if answered == "true" else Suggestion.answer.is_(None))
    elif answered:
        raise ValidationFailed({"answered": _("true or false, please.")})
    return newest_first(stmt, Suggestion.id, args.get("before", ""), size)


def newest_first(stmt, id_column, before: str, size: int = PAGE) -> tuple[list, int | None]:
    """A keyset page of `stmt` by descending id, before the cursor `before` (an id), and the
    cursor of the next page (None at the end)."""
    if before:
        if not whole_number(before) or int(before) > MAX_ID:
            raise ValidationFailed({"before": _("A whole number, please.")})
        stmt = stmt.where(id_column < int(before))
    rows = list(db.session.scalars(stmt.order_by(id_column.desc()).limit(size + 1)))
    return rows[:size], rows[size - 1].id if len(rows) > size else None


def may_answer(user: User, row: Suggestion) -> bool:
    """The group that collected it records the answer and passes it back."""
    return user.active and user.role in VISITORS and user.unit_id == row.group_id


def answer_suggestion(actor: User, row: Suggestion, answer: Any, text: Any) -> Suggestion:
    """Record the answer to a suggestion: adopted, partly adopted or explained, with its text."""
    if not may_answer(actor, row):
        raise Forbidden(_("Only the group that collected a suggestion records its answer."))
    if row.answer is not None:
        raise Conflict(_("This suggestion is already answered."), "answered")
    errors: dict[str, str] = {}
    if answer not in ANSWERS:
        errors["answer"] = _("One of: %(forms)s.", forms=", ".join(ANSWERS))
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_SUGGESTION_TEXT:
        errors["text"] = _("The answer's text, at most %(n)d characters.", n=MAX_SUGGESTION_TEXT)
    elif problem := text_error(text, one_line=False):
        errors["text"] = problem
    if errors:
        raise ValidationFailed(errors, _("Please correct the marked fields."))
    row.answer, row.answer_text = answer, text.strip()
    row.answered_at, row.answered_by_id = now(), actor.id
    db.session.flush()
    return row


# -- leaders ---------------------------------------------------------------------------------

def contact_points(leader: User) -> list[ContactPoint]:
    return list(db.session.scalars(select(ContactPoint).where(ContactPoint.leader_id == leader.id)
                                   .order_by(ContactPoint.id)))


def add_contact_point(leader: User, *, unit: Unit | None = None, target: Target | None = None) -> ContactPoint:
    """A village, enterprise or group the leader keeps as a contact point (联系点), in the
    leader's own unit."""
    if leader.role != "leader" or leader.unit is None:
        raise Forbidden(_("Only a leader keeps contact points."))
    place = unit if unit is not None else (target.group if target is not None else None)
    if place is None or (unit is None) == (target is None) or not leader.unit.contains(place):
        raise ValidationFailed({"place": _("A group or a target in the leader's unit, please.")})
    point = ContactPoint(leader_id=leader.id, unit_id=unit.id if unit else None,
                         target_id=target.id if target else None, created_at=now())
    db.session.add(point)
    db.session.flush()
    return point


def own_visits(user: User, before: str = "", size: int = PAGE) -> tuple[list[Visit], int | None]:
    """The visits the user went on, newest first (keyset on id)."""
    return newest_first(select(Visit).join(visit_cadres, visit_cadres.c.visit_id == Visit.id).where(
        visit_cadres.c.user_id == user.id), Visit.id, before, size)
